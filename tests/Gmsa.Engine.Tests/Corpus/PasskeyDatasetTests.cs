using Gmsa.Engine.Compression;
using Gmsa.Engine.Corpus;

namespace Gmsa.Engine.Tests.Corpus;

public class PasskeyDatasetTests
{
    /// <summary>
    /// A corpus folder with test and train splits (the train split's "river" spelled "trainword", so a test can tell
    /// the splits' filler apart) and the output folder beside it.
    /// </summary>
    static (string Corpus, string Output) SmallCorpus(TempDir dir, int trainDocuments)
    {
        string corpus = Path.Combine(dir.Path, "corpus"), output = Path.Combine(dir.Path, "passkey");
        Directory.CreateDirectory(corpus);
        CorpusJsonl.Write(CorpusJsonl.SplitPath(corpus, CorpusSplit.Test), PasskeyTaskTests.Documents(1500, seed: 1));
        CorpusJsonl.Write(CorpusJsonl.SplitPath(corpus, CorpusSplit.Train),
            PasskeyTaskTests.Documents(trainDocuments, seed: 2).Select(d => d with { Text = d.Text.Replace("river", "trainword") }));
        return (corpus, output);
    }

    [Fact]
    public void Build_SmallCorpus_WritesReferenceJsonlLengthsFileAndReadme()
    {
        using var dir = new TempDir();
        // Test filler is held-out text only: the train split's words never reach test.jsonl.
        var (corpus, output) = SmallCorpus(dir, trainDocuments: 300);

        PasskeySummary summary = PasskeyDataset.Build(new PasskeyBuildOptions
        {
            CorpusDir = corpus, ModelDir = RepoFiles.Path("models/gmsa-tiny"), OutDir = output, PerLength = 1, TrainItems = 5, Command = "gmsa data passkey --test",
        });

        IReadOnlyList<QaItem> test = QaJsonl.Read(Path.Combine(output, "test.jsonl"));
        IReadOnlyList<QaItem> train = QaJsonl.Read(Path.Combine(output, "train.jsonl"));
        var lengths = PasskeyDataset.ReadLengths(Path.Combine(output, PasskeyDataset.LengthsFile));
        Assert.Equal(PasskeyTask.TestLengths.Count, test.Count);
        Assert.Equal(5, train.Count);
        Assert.Equal(Enumerable.Range(0, test.Count), lengths.Select(l => l.Line));
        Assert.Equal(PasskeyTask.TestLengths, lengths.Select(l => l.TargetTokens));
        Assert.Equal(PasskeyTask.TestLengths, summary.Test.Select(t => t.TargetTokens));
        Assert.All(test, i => Assert.DoesNotContain("trainword", i.Input));
        Assert.All(train, i => Assert.Contains(i.Answers[0], i.Input));
        Assert.Contains("\"target_tokens\":256", File.ReadAllText(Path.Combine(output, PasskeyDataset.LengthsFile)));
        string readme = File.ReadAllText(Path.Combine(output, PasskeyDataset.ReadmeFile));
        Assert.Contains("`gmsa data passkey --test`", readme);
        Assert.Contains("| test.jsonl | corpus test split | 1 | target 8192:", readme);
    }

    [Fact]
    public void Build_ZeroPerLength_ThrowsOneClearMessage()
    {
        using var dir = new TempDir();

        var e = Assert.Throws<ArgumentOutOfRangeException>(() => PasskeyDataset.Build(new PasskeyBuildOptions
        {
            CorpusDir = dir.Path, ModelDir = RepoFiles.Path("models/gmsa-tiny"), OutDir = dir.Path, PerLength = 0,
        }));

        Assert.StartsWith("per-length must be in 1..100000", e.Message);
    }

    [Fact]
    public void Build_TrainingLengthsAsked_ItemsInThatRangeAndTheReadmeSaysIt()
    {
        using var dir = new TempDir();
        var (corpus, output) = SmallCorpus(dir, trainDocuments: 600);
        var options = new PasskeyBuildOptions
        {
            CorpusDir = corpus, ModelDir = RepoFiles.Path("models/gmsa-tiny"), OutDir = output, PerLength = 1, TrainItems = 6,
            TrainMinTokens = 600, TrainMaxTokens = 900,
        };

        var summary = PasskeyDataset.Build(options);

        Assert.InRange(summary.TrainMinTokens, 600 - 8, 900 + 8);
        Assert.InRange(summary.TrainMaxTokens, 600 - 8, 900 + 8);
        Assert.Contains("target uniform in 600-900:", File.ReadAllText(Path.Combine(output, PasskeyDataset.ReadmeFile)));
        var reversed = Assert.Throws<ArgumentOutOfRangeException>(() => PasskeyDataset.Build(options with { TrainMinTokens = 900, TrainMaxTokens = 600 }));
        Assert.StartsWith("training lengths must satisfy 32 <= min <= max <= 8192 tokens (got 900-600)", reversed.Message);
    }
}
