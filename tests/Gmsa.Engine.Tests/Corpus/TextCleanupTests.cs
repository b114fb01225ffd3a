using Gmsa.Engine.Corpus;

namespace Gmsa.Engine.Tests.Corpus;

public class TextCleanupTests
{
    [Fact]
    public void Line_MixedWhitespaceAndDecomposedAccent_CollapsesAndComposes()
    {
        Assert.Equal("Émile said: no.", TextCleanup.Line("\uFEFF  E\u0301mile\tsaid:\u00A0\r\n no.  "));
    }

    [Fact]
    public void Paragraphs_SceneBreakAndBlanks_AreDropped()
    {
        Assert.Equal("One.\n\nTwo three.", TextCleanup.Paragraphs(["One.", "***", "  ", "* * *", "Two   three."]));
    }

    [Fact]
    public void UnwrapParagraphs_WrappedLines_JoinWithinBlankLineBreaks()
    {
        var paragraphs = TextCleanup.UnwrapParagraphs(["It is a truth", "universally acknowledged.", "", "", "  Indented", "line.", "SKIP"], l => l != "SKIP");

        Assert.Equal(["It is a truth universally acknowledged.", "Indented line."], paragraphs);
    }

    [Theory]
    [InlineData("Between _them_ it was", "Between them it was")]
    [InlineData("\"Hallo, _you_ sir,\" cried _Mr. Stubb_.", "\"Hallo, you sir,\" cried Mr. Stubb.")]
    [InlineData("mail Marc_Weiser.PARC or snake_case_name", "mail Marc_Weiser.PARC or snake_case_name")]
    public void StripUnderscoreEmphasis_ItalicsMarks_RemovedOthersKept(string text, string expected)
    {
        Assert.Equal(expected, TextCleanup.StripUnderscoreEmphasis(text));
    }

    [Theory]
    [InlineData("Song of Solomon", "song-of-solomon")]
    [InlineData("/dev/null", "dev-null")]
    [InlineData("Chapter 1. Hacker Slang", "chapter-1-hacker-slang")]
    [InlineData("Émigré", "emigre")]
    public void Slug_Titles_BecomeLowerCaseAsciiIds(string title, string expected)
    {
        Assert.Equal(expected, TextCleanup.Slug(title));
    }
}
