using System.Text.RegularExpressions;

namespace Gmsa.Engine.Corpus;

/// <summary>
/// Moby Dick from Debian's r-cran-tokenizers (its example data set `mobydick`: the Project Gutenberg
/// file as one R string). The Gutenberg header, etymology and extracts before Chapter 1 and the licence
/// after the Epilogue are dropped, _italics_ marks removed; one document per chapter.
/// </summary>
public static partial class MobyDickReader
{
    public const string Source = "mobydick";
    public const string ObjectName = "mobydick";

    public static List<CorpusDocument> Read(RLazyLoadDatabase data) =>
        data.ReadStrings(ObjectName) is [{ } book] ? Read(book) : throw new InvalidDataException("mobydick is not a single string");

    public static List<CorpusDocument> Read(string book)
    {
        var documents = new List<CorpusDocument>();
        foreach (Chapter chapter in Chapters.Split(book.ReplaceLineEndings("\n").Split('\n'), IsHeading, IsEnd))
        {
            string text = TextCleanup.StripUnderscoreEmphasis(TextCleanup.Paragraphs(TextCleanup.UnwrapParagraphs(chapter.Lines)));
            if (text.Length == 0) continue;
            Match m = ChapterHeading().Match(chapter.Heading);
            string id = m.Success ? int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture).ToString("D3") : TextCleanup.Slug(chapter.Heading);
            documents.Add(new CorpusDocument($"{Source}/{id}", Source, $"Moby Dick, {TextCleanup.Line(chapter.Heading)}", text));
        }
        return documents;
    }

    static bool IsHeading(string line) => ChapterHeading().IsMatch(line) || line == "Epilogue";

    static bool IsEnd(string line) =>
        line.StartsWith("End of Project Gutenberg", StringComparison.OrdinalIgnoreCase) ||
        line.StartsWith("*** END OF", StringComparison.OrdinalIgnoreCase);

    [GeneratedRegex(@"^CHAPTER (\d+)\. \S")]
    private static partial Regex ChapterHeading();
}
