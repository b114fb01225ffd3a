using Gmsa.Engine.Compression;
using Gmsa.Engine.Evaluation;
using static TorchSharp.torch;

namespace Gmsa.Engine.Tests.Evaluation;

/// <summary>
/// The evaluator on the committed gmsa-tiny and its shipped compressor: the copy reference row, and the scored samples
/// behind each row. gmsa-tiny itself does not copy what it has read (it continues a sentence repeated six times with
/// other words), so no score near 1 is asserted.
/// </summary>
public sealed class CompressionEvaluatorTests
{
    static readonly string ModelDir = RepoFiles.Path("models/gmsa-tiny");

    [Fact]
    public async Task CopyFromFullContext_TextsLongerThanTheCue_OneReferenceRowOfBoundedScores()
    {
        using var gmsa = GmsaModel.Load(ModelDir, device: CPU);
        var evaluator = new CompressionEvaluator(gmsa, "gmsa");
        string text = string.Join(" ", Enumerable.Repeat("The cat sat on the mat.", 6));

        var row = await evaluator.CopyFromFullContextAsync([text, text + " The dog ran.", "too short"]);

        // "too short" has fewer tokens than the cue, so nothing is left to score: it is not counted.
        Assert.Equal(("full-context", (int?)null, "reconstruction", 2), (row.Method, row.Rate, row.Task, row.Samples));
        Assert.Equal(["bleu", "prefix_match", "rouge_l"], row.Metrics.Keys.Order());
        Assert.All(row.Metrics.Values, v => Assert.InRange(v, 0.0, 1.0));
    }

    [Fact]
    public async Task Predictions_QaAndReconstruction_OnePerSampleWhoseScoresAverageToTheRow()
    {
        using var gmsa = GmsaModel.Load(ModelDir, device: CPU);
        var evaluator = new CompressionEvaluator(gmsa, "gmsa") { MaxAnswerTokens = 6 };
        const string chad = "The capital of Chad is N'Djamena. The currency of Chad is the Central African CFA franc.";
        QaItem[] items =
        [
            new(chad, " Question: What is the capital of Chad? Answer:", ["N'Djamena"]),
            new(chad, " Question: What is the currency of Chad? Answer:", ["Central African CFA franc", "CFA franc"]),
            new(chad, " Question: What is the capital of Chad? Answer:", ["Paris"]),
        ];

        var qa = await evaluator.QuestionsAsync(items, rate: 4);
        var restated = await evaluator.ReconstructionAsync([chad, "The cat sat on the mat."], rate: 4);

        var asked = evaluator.Predictions.Where(p => p.Task == "qa").ToArray();
        Assert.Equal([0, 1, 2], asked.Select(p => p.Index));
        Assert.All(asked, p => Assert.Equal(("gmsa", (int?)4), (p.Method, p.Rate)));
        Assert.Equal(items.Select(q => q.Prompt), asked.Select(p => p.Prompt));
        Assert.Equal(items[1].Answers, asked[1].Expected);
        // The same question twice: the same greedy answer, scored against each item's own gold.
        Assert.Equal(asked[0].Prediction, asked[2].Prediction);
        Assert.Equal(SquadMetrics.F1(items[0].Answers, asked[0].Prediction), asked[0].Scores["f1"]);
        Assert.Equal(qa.Metrics["f1"], asked.Average(p => p.Scores["f1"]), 1e-12);
        Assert.Equal(qa.Metrics["em"], asked.Average(p => p.Scores["em"]), 1e-12);

        var restatements = evaluator.Predictions.Where(p => p.Task == "reconstruction").ToArray();
        Assert.Equal(2, restatements.Length);
        Assert.Equal(chad, Assert.Single(restatements[0].Expected));
        Assert.Null(restatements[0].Prompt);
        foreach (var metric in new[] { "bleu", "rouge_l", "prefix_match" })
            Assert.Equal(restated.Metrics[metric], restatements.Average(p => p.Scores[metric]), 1e-12);
    }

    [Fact]
    public async Task Predictions_PasskeyTooLongToRead_ScoredWrongWithEmptyPredictionAndFitsZero()
    {
        using var gmsa = GmsaModel.Load(ModelDir, device: CPU);
        var evaluator = new CompressionEvaluator(gmsa, "gmsa") { MaxAnswerTokens = 8 };
        string filler = string.Concat(Enumerable.Repeat("The grass is green. The sky is blue. ", 230)); // ~2,300 tokens
        QaItem[] items =
        [
            new("The pass key is 71432. Remember it. " + filler[..600], " What is the pass key? The pass key is", ["71432"]),
            new(filler + "The pass key is 90210. Remember it.", " What is the pass key? The pass key is", ["90210"]),
        ];

        var rows = await evaluator.PasskeyAsync(items, rate: null); // read in full: the long one exceeds 1,024 positions

        var scored = evaluator.Predictions.OrderBy(p => p.Index).ToArray();
        Assert.Equal(2, scored.Length);
        Assert.Equal(1.0, scored[0].Scores["fits"]);
        Assert.Equal((0.0, 0.0, ""), (scored[1].Scores["fits"], scored[1].Scores["correct"], scored[1].Prediction));
        Assert.True(scored[1].ContextTokens > 1024);
        Assert.Equal(rows.Sum(r => r.Metrics["accuracy"] * r.Samples), scored.Sum(p => p.Scores["correct"]), 1e-12);
    }

    [Fact]
    public void WriteJsonl_Predictions_OneObjectPerLineWithTheirFields()
    {
        using var temp = new TempDir();
        string path = Path.Combine(temp.Path, "out", "predictions.jsonl");
        EvalPrediction[] predictions =
        [
            new("gmsa", 4, "qa", 0, " Question: Where? Answer:", ["N'Djamena"], "N'Djamena", new Dictionary<string, double> { ["em"] = 1, ["f1"] = 1 }),
            new("full-context", null, "passkey", 7, " What is the pass key?", ["12345"], "", new Dictionary<string, double> { ["correct"] = 0, ["fits"] = 0 }, 2048),
        ];

        EvalPrediction.WriteJsonl(path, predictions);

        var lines = File.ReadAllLines(path).Select(l => System.Text.Json.Nodes.JsonNode.Parse(l)!).ToArray();
        Assert.Equal(2, lines.Length);
        Assert.Equal("N'Djamena", (string)lines[0]["prediction"]!);
        Assert.Equal(4, (int)lines[0]["rate"]!);
        Assert.Equal(1.0, (double)lines[0]["f1"]!);
        Assert.Null(lines[1]["rate"]);
        Assert.Equal((7, 2048, "12345"), ((int)lines[1]["index"]!, (int)lines[1]["context_tokens"]!, (string)lines[1]["expected"]![0]!));
        Assert.Contains("N'Djamena", File.ReadAllText(path)); // written as is, not as \u0027
    }
}
