using Gmsa.Engine.Model;
using TorchSharp;
using static Gmsa.Engine.Model.Scalars;
using static TorchSharp.torch;

namespace Gmsa.Engine.Generation;

/// <summary>Picks the next token of every row from its last-position logits.</summary>
/// <remarks>
/// Every number handed to an op is a Scalar this sampler or <see cref="Scalars"/> holds, never a temporary: see
/// <see cref="Scalars"/> for the garbage-collection race a temporary invites in a loop that runs once a token.
/// </remarks>
public sealed class Sampler
{
    static readonly Scalar FloatMin = float.MinValue.ToScalar();
    static readonly Scalar FloatMax = float.MaxValue.ToScalar();

    readonly SamplingOptions options;
    readonly Generator? generator;
    readonly Scalar temperature, repetitionPenalty, frequencyPenalty, presencePenalty, topP;

    /// <summary>Off sends CPU rows' draws through libtorch's sort and multinomial as on CUDA: the "before" of `gmsa bench decode`'s sampling line.</summary>
    public static bool CpuLoops { get; set; } = true;

    public Sampler(SamplingOptions options, Device device)
    {
        options.Validate();
        this.options = options;
        if (!options.Greedy) generator = new Generator((ulong)options.Seed, device);
        temperature = options.Temperature.ToScalar();
        repetitionPenalty = options.RepetitionPenalty.ToScalar();
        frequencyPenalty = options.FrequencyPenalty.ToScalar();
        presencePenalty = options.PresencePenalty.ToScalar();
        topP = options.TopP.ToScalar();
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
            scores = scores.index_fill(-1, arange(limit, scores.shape[^1], device: scores.device), NegativeInfinity);
        if (options.RepetitionPenalty != 1.0 && history is not null)
            // An extreme but finite penalty (1e-40) overflows to ±inf; keep every score finite so nothing below gives NaN.
            scores = Penalize(scores, history, repetitionPenalty).clamp(FloatMin, FloatMax);
        if (options.PenalizesGenerated && generated is not null && generated.shape[1] > 0)
            scores = PenalizeGenerated(scores, generated, frequencyPenalty, presencePenalty);
        var next = options.Greedy ? scores.argmax(-1) : Draw(scores);
        GC.KeepAlive(this); // the Scalar fields outlive every native call that read them
        return next.MoveToOuterDisposeScope();
    }

    /// <summary>Temperature, top-k and top-p, then one draw per row from this sampler's generator.</summary>
    Tensor Draw(Tensor scores)
    {
        // On the CPU libtorch's sort and multinomial of one row cost more than a decode step: plain loops instead.
        if (CpuLoops && scores.device_type == DeviceType.CPU)
            return CpuSampling.Draw(scores, options.Temperature, options.TopK, options.TopP, generator);
        return multinomial(Filter(scores, temperature, options.TopK, options.TopP < 1.0 ? topP : null).softmax(-1), 1, generator: generator).squeeze(-1);
    }

    /// <summary>
    /// Temperature, top-k and top-p (<paramref name="topP"/> null: none) as libtorch ops, dropped tokens at -inf: CUDA's
    /// path, and the filter <see cref="CpuSampling"/>'s loops are tested against.
    /// </summary>
    internal static Tensor Filter(Tensor scores, Scalar temperature, int topK, Scalar? topP)
    {
        // Shifted so the best token scores 0 before dividing: a tiny temperature (1e-38) then sends the others to -inf
        // (greedy, its limit) instead of every score to inf and the softmax to NaN. Softmax does not see the shift.
        scores = scores.add(scores.max(-1, keepdim: true).values, MinusOne).div_(temperature);
        if (topK > 0 && topK < scores.shape[^1])
        {
            var kth = scores.topk(topK, dim: -1).values.narrow(-1, topK - 1, 1); // [B, 1]
            scores = scores.masked_fill(scores.lt(kth), NegativeInfinity);
        }
        return topP is null ? scores : TopP(scores, topP);
    }

    internal static Tensor Penalize(Tensor scores, Tensor history, Scalar penalty)
    {
        var seen = scores.gather(1, history);                                          // [B, N]
        var penalized = where(seen.lt(Zero), seen.mul(penalty), seen.div(penalty));
        return scores.scatter(1, history, penalized);
    }

    /// <summary>OpenAI's penalties: score - frequency * count - presence * (count > 0), count = times generated.</summary>
    internal static Tensor PenalizeGenerated(Tensor scores, Tensor generated, Scalar frequency, Scalar presence)
    {
        var counts = zeros_like(scores).scatter_add(1, generated, ones(generated.shape, dtype: scores.dtype, device: scores.device)); // [B, V]
        var present = counts.gt(Zero).to(scores.dtype);
        return scores.add(counts.mul_(frequency), MinusOne).add_(present.mul_(presence), MinusOne);
    }

    // Nucleus filtering: drop a token when the tokens ranked above it already reach p.
    internal static Tensor TopP(Tensor scores, Scalar p)
    {
        var (sorted, order) = scores.sort(dim: -1, descending: true);                  // [B, V]
        var probabilities = sorted.softmax(-1);
        var before = probabilities.cumsum(-1).add_(probabilities, MinusOne);         // mass strictly above each token
        // The top token is never dropped, even when p underflows float32 (1e-50 becomes 0, and 0 >= 0).
        var dropSorted = before.ge(p).logical_and(before.gt(Zero));
        var drop = zeros_like(dropSorted).scatter(-1, order, dropSorted);
        return scores.masked_fill(drop, NegativeInfinity);
    }
}
