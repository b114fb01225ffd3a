using Gmsa.Engine.Model;
using Gmsa.Engine.Training;
using static TorchSharp.torch;

namespace Gmsa.Engine.Evaluation;

/// <summary>Mean next-token loss over the same targets read for the first time and again right after.</summary>
public readonly record struct CopyLossResult(double FirstReading, double Repeat, long Passages, int PassageTokens);

/// <summary>
/// How much a language model copies from its context: each passage of <c>P</c> tokens from a split is read
/// twice in a row, [P ; P], and the loss on tokens 2..P is measured on both readings. The targets are the same
/// tokens, so the gap is what reading them before is worth: a model that finds and continues earlier text
/// (induction) scores a repeat loss near 0; one that does not scores about its first-reading loss.
/// </summary>
public static class CopyLoss
{
    public static CopyLossResult Measure(CausalLM model, TokenStream stream, int passageTokens, int batchSize = 8, int? maxPassages = null)
    {
        if (passageTokens < 2) throw new ArgumentOutOfRangeException(nameof(passageTokens), "a passage needs at least 2 tokens");
        if (2 * passageTokens > model.Config.ContextLength)
            throw new ArgumentOutOfRangeException(nameof(passageTokens), $"two passages of {passageTokens} exceed the model's context of {model.Config.ContextLength}");
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var windows = TokenWindows.EvaluationWindows(stream, passageTokens, maxPassages);       // [n, P+1]
        long n = windows.shape[0];
        double first = 0, repeat = 0;
        for (long start = 0; start < n; start += batchSize)
        {
            using var step = NewDisposeScope();
            var passages = windows.narrow(0, start, Math.Min(batchSize, n - start)).narrow(1, 0, passageTokens); // [b, P]
            var ids = cat([passages, passages], dim: 1);                                         // [b, 2P]
            var losses = LanguageModelObjective.NextTokenLoss(model, ids, nn.Reduction.None)
                .view(ids.shape[0], 2 * passageTokens - 1);                                     // [b, 2P-1]
            // Targets 2..P of the passage: positions 0..P-2 on the first reading, P..2P-2 on the repeat.
            first += losses.narrow(1, 0, passageTokens - 1).sum().item<float>();
            repeat += losses.narrow(1, passageTokens, passageTokens - 1).sum().item<float>();
        }
        long targets = n * (passageTokens - 1);
        return new CopyLossResult(first / targets, repeat / targets, n, passageTokens);
    }
}
