using TorchSharp;
using static TorchSharp.torch;

namespace Gmsa.Engine.Generation;

/// <summary>Picks the next token of every row from its last-position logits.</summary>
public sealed class Sampler
{
    readonly SamplingOptions options;
    readonly Generator? generator;

    public Sampler(SamplingOptions options, Device device)
    {
        options.Validate();
        this.options = options;
        if (!options.Greedy) generator = new Generator((ulong)options.Seed, device);
    }

    /// <param name="logits">[B, V]</param>
    /// <param name="history">[B, N] ids already in each row (for the repetition penalty), or null</param>
    /// <param name="generated">[B, G] ids each row has generated so far (for the frequency and presence penalties), or null</param>
    /// <returns>[B] int64 token ids</returns>
    public Tensor Next(Tensor logits, Tensor? history, Tensor? generated = null)
    {
        using var scope = NewDisposeScope();
        var scores = logits.to(ScalarType.Float32);
        if (options.VocabLimit is { } limit && limit < scores.shape[^1])
            scores = scores.index_fill(-1, arange(limit, scores.shape[^1], device: scores.device), double.NegativeInfinity);
        if (options.RepetitionPenalty != 1.0 && history is not null)
            // An extreme but finite penalty (1e-40) overflows to ±inf; keep every score finite so nothing below gives NaN.
            scores = Penalize(scores, history, options.RepetitionPenalty).clamp(float.MinValue, float.MaxValue);
        if (options.PenalizesGenerated && generated is not null && generated.shape[1] > 0)
            scores = PenalizeGenerated(scores, generated, options.FrequencyPenalty, options.PresencePenalty);
        if (options.Greedy)
            return scores.argmax(-1).MoveToOuterDisposeScope();

        // Shifted so the best token scores 0 before dividing: a tiny temperature (1e-38) then sends the others to -inf
        // (greedy, its limit) instead of every score to inf and the softmax to NaN. Softmax does not see the shift.
        scores = (scores - scores.max(-1, keepdim: true).values) / options.Temperature;
        if (options.TopK > 0 && options.TopK < scores.shape[^1])
        {
            var kth = scores.topk(options.TopK, dim: -1).values.narrow(-1, options.TopK - 1, 1); // [B, 1]
            scores = scores.masked_fill(scores.lt(kth), double.NegativeInfinity);
        }
        if (options.TopP < 1.0)
            scores = TopP(scores, options.TopP);
        var probs = scores.softmax(-1);
        return multinomial(probs, 1, generator: generator).squeeze(-1).MoveToOuterDisposeScope();
    }

    internal static Tensor Penalize(Tensor scores, Tensor history, double penalty)
    {
        var seen = scores.gather(1, history);                                          // [B, N]
        var penalized = where(seen.lt(0), seen * penalty, seen / penalty);
        return scores.scatter(1, history, penalized);
    }

    /// <summary>OpenAI's penalties: score - frequency * count - presence * (count > 0), count = times generated.</summary>
    internal static Tensor PenalizeGenerated(Tensor scores, Tensor generated, double frequency, double presence)
    {
        var counts = zeros_like(scores).scatter_add(1, generated, ones(generated.shape, dtype: scores.dtype, device: scores.device)); // [B, V]
        return scores - counts * frequency - counts.gt(0).to(scores.dtype) * presence;
    }

    // Nucleus filtering: drop a token when the tokens ranked above it already reach p.
    internal static Tensor TopP(Tensor scores, double p)
    {
        var (sorted, order) = scores.sort(dim: -1, descending: true);                  // [B, V]
        var cumulative = sorted.softmax(-1).cumsum(-1);
        var before = cumulative - sorted.softmax(-1);                                 // mass strictly above each token
        // The top token is never dropped, even when p underflows float32 (1e-50 becomes 0, and 0 >= 0).
        var dropSorted = before.ge(p).logical_and(before.gt(0));
        var drop = zeros_like(dropSorted).scatter(-1, order, dropSorted);
        return scores.masked_fill(drop, double.NegativeInfinity);
    }
}
