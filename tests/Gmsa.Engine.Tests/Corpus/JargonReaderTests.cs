using Gmsa.Engine.Corpus;

namespace Gmsa.Engine.Tests.Corpus;

public class JargonReaderTests
{
    // The layout of jargon.txt: chapter headings with no-break spaces, a table of contents per chapter,
    // tables in box-drawing characters, a headword list under each letter, entries ":word: pron, pos.".
    static readonly string Jargon = string.Join("\n",
        "                                The Jargon File",
        "",
        "   Table of Contents",
        "",
        "   1. Hacker Slang and Hacker Culture",
        "",
        "Chapter\u00A01.\u00A0Hacker Slang and Hacker Culture",
        "",
        "   This document is a collection of slang terms used by various subcultures",
        "   of computer hackers.",
        "",
        "Chapter\u00A04.\u00A0Jargon Construction",
        "",
        "   Table of Contents",
        "",
        "   Verb Doubling",
        "",
        "   There are some standard methods of jargonification that became established",
        "   quite early.",
        "",
        "   Table 4.1. Comparatives",
        "",
        "   ┌────┬────┐",
        "   │ a  │ b  │",
        "   └────┴────┘",
        "",
        "Glossary",
        "",
        "  A",
        "",
        "   abbrev",
        "",
        "   ABEND",
        "",
        "   :abbrev: /@·breev'/, /@·brev´/, n.",
        "",
        "   Common abbreviation for ‘abbreviation’.",
        "",
        "   :ABEND: /a´bend/, n.",
        "",
        "   [ABnormal END] Abnormal termination of software; {crash}; {lossage}.",
        "",
        "         ____",
        "        /o  o\\",
        "        |_/\\_|",
        "",
        "  B",
        "",
        "   bogus",
        "",
        "   :bogus: adj.",
        "",
        "   Non-functional. See {bogosity}.",
        "",
        "Appendix\u00A0A.\u00A0Hacker Folklore",
        "",
        "   Table of Contents",
        "",
        "   The Meaning of ‘Hack’",
        "",
        "   This appendix contains several legends and fables that illuminate the meaning.",
        "",
        "Bibliography",
        "",
        "   Some book, 1990.");

    [Fact]
    public void Read_JargonFile_EntriesAndEssaysWithoutContentsTablesOrArt()
    {
        var docs = JargonReader.Read(Jargon).ToDictionary(d => d.Id);

        Assert.Equal(
            ["jargon/chapter-1-hacker-slang-and-hacker-culture", "jargon/chapter-4-jargon-construction", "jargon/abbrev", "jargon/abend",
             "jargon/bogus", "jargon/appendix-a-hacker-folklore"],
            docs.Keys);
        Assert.Equal("This document is a collection of slang terms used by various subcultures of computer hackers.",
            docs["jargon/chapter-1-hacker-slang-and-hacker-culture"].Text);
        Assert.Equal("There are some standard methods of jargonification that became established quite early.",
            docs["jargon/chapter-4-jargon-construction"].Text);
        Assert.Equal("abbrev (n.)\n\nCommon abbreviation for ‘abbreviation’.", docs["jargon/abbrev"].Text);
        Assert.Equal("ABEND (n.)\n\n[ABnormal END] Abnormal termination of software; crash; lossage.", docs["jargon/abend"].Text);
        Assert.Equal("bogus (adj.)\n\nNon-functional. See bogosity.", docs["jargon/bogus"].Text);
        Assert.Equal("This appendix contains several legends and fables that illuminate the meaning.", docs["jargon/appendix-a-hacker-folklore"].Text);
        Assert.Equal("Jargon File, Chapter 4. Jargon Construction", docs["jargon/chapter-4-jargon-construction"].Title);
    }

    [Theory]
    [InlineData("   │ a  │ b  │", false)]
    [InlineData("         ____", false)]
    [InlineData("   1970s.", true)]
    [InlineData("     I feel that it is a mistake to use Pascal for anything much beyond its", true)]
    public void KeepLine_TablesAndArt_AreDroppedProseKept(string line, bool keep)
    {
        Assert.Equal(keep, JargonReader.KeepLine(line));
    }
}
