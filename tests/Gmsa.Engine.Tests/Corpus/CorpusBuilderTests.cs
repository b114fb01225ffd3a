using Gmsa.Engine.Corpus;

namespace Gmsa.Engine.Tests.Corpus;

public class CorpusBuilderTests
{
    static CorpusSource Fake(string key, int documents, string? emptyId = null) =>
        new(key, $"{key} source", [new PinnedPackage(PackageKind.Npm, key, "1.0.0", $"{key}.tgz", new string('a', 64))],
            "public domain", "none",
            _ => Enumerable.Range(0, documents)
                .Select(i => new CorpusDocument($"{key}/{i}", key, $"{key} {i}", $"word {i} and a few more words"))
                .Append(new CorpusDocument(emptyId ?? $"{key}/empty", key, "empty", ""))
                .ToList());

    static CorpusBuildOptions Options(string outDir) => new()
    {
        CacheDir = Path.Combine(outDir, "cache"), OutDir = outDir, ValidationFraction = 0.1, TestFraction = 0.1,
        Command = "gmsa data prepare --out test", MinHeldOutWords = 1,
    };

    [Fact]
    public void Build_FakeSources_WritesEachDocumentToItsHashedSplit()
    {
        using var dir = new TempDir();
        CorpusSource[] sources = [Fake("alpha", 300), Fake("beta", 200)];

        var stats = CorpusBuilder.Build(sources, new PackageCache(dir.Path), Options(dir.Path));

        var splitter = new CorpusSplitter(0.1, 0.1);
        var written = CorpusSplitter.Splits.SelectMany(split =>
            CorpusJsonl.Read(CorpusJsonl.SplitPath(dir.Path, split)).Select(d => (d.Id, split))).ToList();
        Assert.Equal(500, written.Count);                                  // the empty documents are dropped
        Assert.All(written, w => Assert.Equal(splitter.Assign(w.Id), w.split));
        Assert.Equal(500 * 7, stats.Total().Words);
        Assert.Equal(written.Count(w => w.split == CorpusSplit.Test), stats.Total(CorpusSplit.Test).Documents);
        Assert.Equal(300, stats.Total("alpha").Documents);
    }

    [Fact]
    public void Build_FactbookPages_FollowTheirCountrysQaSplit()
    {
        using var dir = new TempDir();
        // Two-letter codes as the Factbook's file names; enough of them that each QA split holds some.
        var codes = Enumerable.Range(0, 26 * 26).Select(i => $"{(char)('a' + i / 26)}{(char)('a' + i % 26)}").ToArray();
        var factbook = new CorpusSource(FactbookReader.Source, "factbook source",
            [new PinnedPackage(PackageKind.Npm, "factbook", "1.0.0", "factbook.tgz", new string('b', 64))], "public domain", "none",
            _ => codes.Select(c => new CorpusDocument($"{FactbookReader.Source}/{c}", FactbookReader.Source, c, $"country {c} has words")).ToList());

        CorpusBuilder.Build([factbook, Fake("alpha", 100)], new PackageCache(dir.Path), Options(dir.Path));

        var written = CorpusSplitter.Splits.SelectMany(split =>
            CorpusJsonl.Read(CorpusJsonl.SplitPath(dir.Path, split)).Select(d => (d.Id, split))).ToList();
        var pages = written.Where(w => w.Id.StartsWith("factbook/")).ToList();
        Assert.Equal(codes.Length, pages.Count);
        Assert.All(pages, w => Assert.Equal(FactbookQa.SplitOf(w.Id["factbook/".Length..]), w.split));
        Assert.Contains(pages, w => w.split == CorpusSplit.Test);
        // The QA split (10 % + 10 % by country) differs from the corpus's id hash, so the rule is what placed them.
        var splitter = new CorpusSplitter(0.1, 0.1);
        Assert.Contains(pages, w => splitter.Assign(w.Id) != w.split);
        Assert.All(written.Where(w => w.Id.StartsWith("alpha/")), w => Assert.Equal(splitter.Assign(w.Id), w.split));
        Assert.Contains("its country's split of Factbook QA", File.ReadAllText(Path.Combine(dir.Path, CorpusBuilder.DataCardFile)));
    }

    [Fact]
    public void SplitOf_DocumentMode_FactbookPagesByIdHash()
    {
        var splitter = new CorpusSplitter(0.02, 0.02);
        var pages = Enumerable.Range(0, 400).Select(i => new CorpusDocument($"factbook/x{i}", FactbookReader.Source, "t", "text")).ToList();

        Assert.All(pages, d => Assert.Equal(splitter.Assign(d.Id), CorpusBuilder.SplitOf(d, splitter, FactbookSplit.Document)));
        Assert.Contains(pages, d => CorpusBuilder.SplitOf(d, splitter, FactbookSplit.Country) != splitter.Assign(d.Id));
    }

    [Fact]
    public void Build_DataCard_NamesSourcesPackagesCountsAndCommand()
    {
        using var dir = new TempDir();
        var stats = CorpusBuilder.Build([Fake("alpha", 50)], new PackageCache(dir.Path), Options(dir.Path));

        string card = File.ReadAllText(Path.Combine(dir.Path, CorpusBuilder.DataCardFile));

        Assert.Contains("`gmsa data prepare --out test`", card);
        Assert.Contains("| alpha | alpha source | npm alpha@1.0.0 | public domain | 50 | 350 |", card);
        var train = stats.Get("alpha", CorpusSplit.Train);
        Assert.Contains($"| alpha | {train.Documents} | {train.Words}", card);
        Assert.Contains(new string('a', 64), card);
    }

    [Fact]
    public void Build_SameInputTwice_WritesIdenticalFiles()
    {
        using var first = new TempDir();
        using var second = new TempDir();
        CorpusBuilder.Build([Fake("alpha", 100)], new PackageCache(first.Path), Options(first.Path) with { Command = "same" });
        CorpusBuilder.Build([Fake("alpha", 100)], new PackageCache(second.Path), Options(second.Path) with { Command = "same" });

        foreach (string file in new[] { "train.jsonl", "validation.jsonl", "test.jsonl", CorpusBuilder.DataCardFile })
            Assert.Equal(File.ReadAllBytes(Path.Combine(first.Path, file)), File.ReadAllBytes(Path.Combine(second.Path, file)));
    }

    [Fact]
    public void Build_TwoDocumentsWithOneId_Throws()
    {
        using var dir = new TempDir();

        var e = Assert.Throws<InvalidOperationException>(() =>
            CorpusBuilder.Build([Fake("alpha", 3), Fake("beta", 1, emptyId: "beta/x"), Fake("alpha", 1)], new PackageCache(dir.Path), Options(dir.Path)));
        Assert.Contains("alpha/0", e.Message);
    }

    [Fact]
    public void Build_HeldOutSplitsTooSmall_WarnsInLogAndCard()
    {
        using var dir = new TempDir();
        var log = new List<string>();

        CorpusBuilder.Build([Fake("alpha", 20)], new PackageCache(dir.Path), Options(dir.Path) with { MinHeldOutWords = 1_000_000 }, log.Add);

        Assert.Contains(log, l => l.StartsWith("warning: validation holds", StringComparison.Ordinal));
        Assert.Contains("Warning: test holds", File.ReadAllText(Path.Combine(dir.Path, CorpusBuilder.DataCardFile)));
    }
}
