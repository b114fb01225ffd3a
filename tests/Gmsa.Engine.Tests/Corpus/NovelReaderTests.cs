using Gmsa.Engine.Corpus;

namespace Gmsa.Engine.Tests.Corpus;

public class NovelReaderTests
{
    [Fact]
    public void AustenRead_NovelLines_OneDocumentPerChapterWithVolumeInTitle()
    {
        string?[] lines =
        [
            "EMMA", "", "By Jane Austen", "", "VOLUME I", "", "CHAPTER I", "",
            "Emma Woodhouse, handsome, clever,", "and rich.", "", "Between _them_ it was more", "the intimacy of sisters.", "",
            "CHAPTER II", "", "Mr. Weston was a native", "of Highbury.", null, "",
            "VOLUME II", "", "CHAPTER I", "", "The next day", "came.", "", "FINIS", "", "A NOTE ON THE TEXT", "Printed in 1816.",
        ];

        var docs = AustenReader.Read("emma", "Emma", lines);

        Assert.Equal(["austen/emma/01", "austen/emma/02", "austen/emma/03"], docs.Select(d => d.Id));
        Assert.Equal(["Emma, Volume I, Chapter I", "Emma, Volume I, Chapter II", "Emma, Volume II, Chapter I"], docs.Select(d => d.Title));
        Assert.Equal("Emma Woodhouse, handsome, clever, and rich.\n\nBetween them it was more the intimacy of sisters.", docs[0].Text);
        Assert.Equal("The next day came.", docs[2].Text);
    }

    [Fact]
    public void MobyDickRead_GutenbergFile_ChaptersAndEpilogueWithoutHeaderOrLicence()
    {
        const string book =
            "\uFEFFThe Project Gutenberg EBook of Moby Dick; or The Whale, by Herman Melville\r\n\r\n" +
            "ETYMOLOGY.\r\n\r\nThe pale Usher--threadbare in coat.\r\n\r\n" +
            "CHAPTER 1. Loomings.\r\n\r\n\r\nCall me Ishmael. Some years ago--never mind how long\r\nprecisely.\r\n\r\n" +
            "CHAPTER 2. The Carpet-Bag.\r\n\r\nI stuffed a shirt or two into _my_ old carpet-bag.\r\n\r\n* * *\r\n\r\n" +
            "Epilogue\r\n\r\n\"AND I ONLY AM ESCAPED ALONE TO TELL THEE\" Job.\r\n\r\n" +
            "End of Project Gutenberg's Moby Dick; or The Whale, by Herman Melville\r\n\r\n*** END OF THIS PROJECT GUTENBERG EBOOK ***\r\n";

        var docs = MobyDickReader.Read(book);

        Assert.Equal(["mobydick/001", "mobydick/002", "mobydick/epilogue"], docs.Select(d => d.Id));
        Assert.Equal("Call me Ishmael. Some years ago--never mind how long precisely.", docs[0].Text);
        Assert.Equal("Moby Dick, CHAPTER 2. The Carpet-Bag.", docs[1].Title);
        Assert.Equal("I stuffed a shirt or two into my old carpet-bag.", docs[1].Text);
        Assert.DoesNotContain(docs, d => d.Text.Contains("Gutenberg") || d.Text.Contains("Usher"));
    }
}
