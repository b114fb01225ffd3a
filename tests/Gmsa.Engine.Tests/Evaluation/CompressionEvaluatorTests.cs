using Gmsa.Engine.Compression;
using Gmsa.Engine.Evaluation;
using static TorchSharp.torch;

namespace Gmsa.Engine.Tests.Evaluation;

/// <summary>
/// The evaluator's copy reference row on the committed gmsa-tiny and its shipped compressor. gmsa-tiny itself does not
/// copy what it has read (it continues a sentence repeated six times with other words), so no score near 1 is asserted.
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
}
