using Gmsa.Engine.Corpus;

namespace Gmsa.Engine.Tests.Corpus;

public class CorpusJsonlTests
{
    [Fact]
    public void WriteRead_UnicodeQuotesAndParagraphs_RoundTrip()
    {
        using var dir = new TempDir();
        CorpusDocument[] docs =
        [
            new("austen/emma/01", "austen", "Emma, Chapter I", "\"Émma\" — said she.\n\nA second paragraph with a \\ and a tab\t."),
            new("kjv/genesis", "kjv", "Genesis", "In the beginning 中文 😀"),
        ];

        CorpusJsonl.Write(dir.File("train.jsonl"), docs);

        Assert.Equal(docs, CorpusJsonl.Read(dir.File("train.jsonl")));
        string raw = File.ReadAllText(dir.File("train.jsonl"));
        Assert.Equal(2, raw.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.Contains("Émma", raw);                       // non-ASCII stays readable, not \u-escaped
        Assert.StartsWith("{\"id\":\"austen/emma/01\",\"source\":\"austen\",\"title\":", raw);
    }

    [Fact]
    public void Read_MalformedLine_ThrowsWithLineNumber()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("bad.jsonl"), "{\"id\":\"a\",\"source\":\"s\",\"title\":\"t\",\"text\":\"x\"}\n{\"id\": \"b\", \"text\": \n");

        var e = Assert.Throws<InvalidDataException>(() => CorpusJsonl.Read(dir.File("bad.jsonl")).ToList());
        Assert.Contains("bad.jsonl:2:", e.Message);
    }

    [Fact]
    public void Read_MissingField_Throws()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("bad.jsonl"), "{\"id\":\"a\",\"source\":\"s\",\"text\":\"x\"}\n");

        var e = Assert.Throws<InvalidDataException>(() => CorpusJsonl.Read(dir.File("bad.jsonl")).ToList());
        Assert.Contains("id, source, title and text", e.Message);
    }
}
