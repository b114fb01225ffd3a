using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace Gmsa.Engine.Generation;

// Legend: B rows, V vocab.

/// <summary>
/// <see cref="Sampler"/>'s work for float32 rows on the CPU, in plain loops: the vocabulary limit, the penalties, then
/// argmax, or temperature, top-k, top-p and one draw. Through libtorch a row took ~20 small ops a token, and its CPU sort
/// of one 8,192-entry row 1.2 ms and its multinomial 0.5 ms: more than a whole gmsa-tiny decode step. Here the nucleus
/// comes from the few tokens above a probability threshold (lowered until they hold the mass asked for) and the draw
/// from one uniform number of the row's generator. Scores and kept tokens are the libtorch path's (tested against it,
/// and CUDA still takes it); the draw follows the same distribution, so a seed gives other (as reproducible) texts than
/// libtorch's multinomial gave.
/// </summary>
internal static class CpuSampling
{
    /// <summary>[B] int64 token ids for <paramref name="logits"/> [B, V]; history [B, N] and generated [B, G] ids as the Sampler takes them.</summary>
    public static Tensor Next(Tensor logits, Tensor? history, Tensor? generated, SamplingOptions options, Generator? generator)
    {
        int b = (int)logits.shape[0], v = (int)logits.shape[1];
        using var scope = NewDisposeScope();
        var all = MemoryMarshal.Cast<byte, float>(logits.to(ScalarType.Float32).contiguous().bytes).ToArray();
        var seen = options.RepetitionPenalty != 1.0 && history is not null ? Rows(history) : null;
        var made = options.PenalizesGenerated && generated is not null && generated.shape[1] > 0 ? Rows(generated) : null;
        var u = options.Greedy ? null : rand([b], ScalarType.Float64, generator: generator).data<double>().ToArray();
        var weights = new float[v];
        var chosen = new long[b];
        for (int r = 0; r < b; r++)
        {
            var row = all.AsSpan(r * v, v);
            Penalize(row, options, seen?[r], made?[r]);
            if (u is null) { chosen[r] = ArgMax(row); continue; }
            var order = Filter(row, options.Temperature, options.TopK, options.TopP, weights);
            chosen[r] = Pick(weights, order, u[r]);
        }
        return tensor(chosen, [b]).MoveToOuterDisposeScope();
    }

    static long[][] Rows(Tensor ids)
    {
        int b = (int)ids.shape[0], n = (int)ids.shape[1];
        var flat = ids.to(ScalarType.Int64).contiguous().data<long>().ToArray();
        return Enumerable.Range(0, b).Select(r => flat[(r * n)..((r + 1) * n)]).ToArray();
    }

    /// <summary>The libtorch path's order and float32 arithmetic: vocabulary limit, repetition penalty (then every score clamped finite), OpenAI's penalties.</summary>
    static void Penalize(Span<float> row, SamplingOptions options, long[]? seen, long[]? made)
    {
        if (options.VocabLimit is { } limit && limit < row.Length) row[limit..].Fill(float.NegativeInfinity);
        if (seen is not null)
        {
            float penalty = (float)options.RepetitionPenalty;
            foreach (long i in seen.Distinct())   // a token seen twice is penalized once, as libtorch's gather-then-scatter does
            {
                float s = row[(int)i];
                row[(int)i] = s < 0 ? s * penalty : s / penalty;
            }
            for (int i = 0; i < row.Length; i++) row[i] = Math.Clamp(row[i], float.MinValue, float.MaxValue);
        }
        if (made is not null)
        {
            var counts = new Dictionary<long, int>();
            foreach (var i in made) counts[i] = counts.GetValueOrDefault(i) + 1;
            float frequency = (float)options.FrequencyPenalty, presence = (float)options.PresencePenalty;
            foreach (var (i, count) in counts) row[(int)i] = row[(int)i] - count * frequency - presence;
        }
    }

    /// <summary>The first best token, as libtorch's argmax.</summary>
    static long ArgMax(ReadOnlySpan<float> row)
    {
        int best = 0;
        for (int i = 1; i < row.Length; i++) if (row[i] > row[best]) best = i;
        return best;
    }

    /// <summary>
    /// Writes each token's unnormalised probability after temperature, top-k and top-p into <paramref name="weights"/> (0
    /// for a dropped token) and returns the order to draw in: the nucleus best first, or null for index order.
    /// </summary>
    internal static int[]? Filter(ReadOnlySpan<float> row, double temperature, int topK, double topP, float[] weights)
    {
        // As the libtorch path: shifted so the best token scores 0 before dividing (a tiny temperature sends the others
        // to -inf, greedy in the limit), in float32.
        float max = float.NegativeInfinity;
        foreach (var s in row) if (s > max) max = s;
        float t = Math.Max((float)temperature, float.Epsilon);
        for (int i = 0; i < row.Length; i++) weights[i] = (row[i] - max) / t;
        if (topK > 0 && topK < row.Length)
        {
            float kth = KthLargest(weights, topK);
            for (int i = 0; i < weights.Length; i++) if (weights[i] < kth) weights[i] = float.NegativeInfinity;
        }
        double total = 0;
        for (int i = 0; i < weights.Length; i++) total += weights[i] = MathF.Exp(weights[i]);
        return topP < 1.0 ? Nucleus(weights, total, (float)topP) : null;
    }

    /// <summary>
    /// Keeps the best tokens while the probability mass ranked strictly above each is under p (the first always) and
    /// zeroes the rest of <paramref name="weights"/>; returns the kept tokens. A selection, not a sort: each round splits
    /// the undecided tokens around a pivot weight, keeps the heavier side whole when it cannot reach p and goes on in the
    /// lighter one, or else goes on inside it (expected O(V); ties at the boundary are taken in index order).
    /// </summary>
    static int[] Nucleus(float[] weights, double total, float p)
    {
        double target = (double)p * total, above = 0;
        var undecided = new List<int>(weights.Length);
        for (int i = 0; i < weights.Length; i++) if (weights[i] > 0) undecided.Add(i);
        var kept = new List<int>();
        List<int> heavier = [], equal = [], lighter = [];
        while (undecided.Count > 0 && (kept.Count == 0 || above < target))
        {
            float pivot = weights[undecided[undecided.Count / 2]];
            heavier.Clear(); equal.Clear(); lighter.Clear();
            double heavierMass = 0;
            foreach (int i in undecided)
            {
                if (weights[i] > pivot) { heavier.Add(i); heavierMass += weights[i]; }
                else if (weights[i] == pivot) equal.Add(i);
                else lighter.Add(i);
            }
            if (heavier.Count > 0 && above + heavierMass >= target)
            {
                (undecided, heavier) = (heavier, undecided);   // the last kept token is among the heavier ones
                continue;
            }
            kept.AddRange(heavier);
            above += heavierMass;
            foreach (int i in equal)
            {
                if (kept.Count > 0 && above >= target) break;
                kept.Add(i);
                above += weights[i];
            }
            (undecided, lighter) = (lighter, undecided);
        }
        var keep = new bool[weights.Length];
        foreach (int i in kept) keep[i] = true;
        for (int i = 0; i < weights.Length; i++) if (!keep[i]) weights[i] = 0;
        return [.. kept];
    }

    /// <summary>The token whose share of the kept weight covers <paramref name="u"/> in [0, 1).</summary>
    static long Pick(float[] weights, int[]? order, double u)
    {
        double total = 0;
        int count = order?.Length ?? weights.Length;
        for (int j = 0; j < count; j++) total += weights[order?[j] ?? j];
        double target = u * total, cumulative = 0;
        int last = -1;
        for (int j = 0; j < count; j++)
        {
            int i = order?[j] ?? j;
            if (weights[i] == 0) continue;
            last = i;
            cumulative += weights[i];
            if (cumulative > target) return i;
        }
        return last >= 0 ? last : 0;   // rounding left the target at the very top: the last token with weight
    }

    /// <summary>The k-th largest of <paramref name="values"/> (a quickselect on a copy).</summary>
    static float KthLargest(float[] values, int k)
    {
        var a = (float[])values.Clone();
        int lo = 0, hi = a.Length - 1, target = a.Length - k;   // the k-th largest sits at this index of the ascending order
        while (lo < hi)
        {
            float pivot = a[(lo + hi) >>> 1];
            int i = lo, j = hi;
            while (i <= j)
            {
                while (a[i] < pivot) i++;
                while (a[j] > pivot) j--;
                if (i <= j) { (a[i], a[j]) = (a[j], a[i]); i++; j--; }
            }
            if (target <= j) hi = j;
            else if (target >= i) lo = i;
            else break;
        }
        return a[target];
    }
}
