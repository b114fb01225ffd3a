using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace Gmsa.Engine.Generation;

// Legend: B rows, V vocab.

/// <summary>
/// Temperature, top-k, top-p and one draw per row for float32 scores on the CPU, in plain loops. libtorch's CPU sort of
/// one 8,192-entry row took 1.2 ms and its multinomial 0.5 ms, more than a whole gmsa-tiny decode step; here the nucleus
/// comes from the few tokens above a probability threshold (lowered until they hold the mass asked for) and the draw from
/// one uniform number of the row's generator. The tokens kept are <see cref="Sampler"/>'s libtorch filter's (tested
/// against it); the draw follows the same distribution, so a seed gives other (but as reproducible) texts than
/// libtorch's multinomial gave.
/// </summary>
internal static class CpuDraw
{
    /// <summary>[B] int64 token ids, one draw per row of <paramref name="scores"/> [B, V] (float32, CPU).</summary>
    public static Tensor Next(Tensor scores, double temperature, int topK, double topP, Generator? generator)
    {
        int b = (int)scores.shape[0], v = (int)scores.shape[1];
        using var contiguous = scores.contiguous();
        var all = MemoryMarshal.Cast<byte, float>(contiguous.bytes).ToArray();
        using var uniforms = rand([b], ScalarType.Float64, generator: generator);
        var u = uniforms.data<double>().ToArray();
        var weights = new float[v];
        var chosen = new long[b];
        for (int r = 0; r < b; r++)
        {
            var order = Filter(all.AsSpan(r * v, v), temperature, topK, topP, weights);
            chosen[r] = Pick(weights, order, u[r]);
        }
        return tensor(chosen, [b]);
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
    /// Keeps the best tokens while the probability mass ranked strictly above each is under p (the first always); zeroes
    /// the rest of <paramref name="weights"/>. Only the tokens above a threshold are sorted, the threshold lowered until
    /// they hold at least p: they are then the top of the ranking and hold the whole nucleus.
    /// </summary>
    static int[] Nucleus(float[] weights, double total, float p)
    {
        int[] candidates = [];
        for (double threshold = 1e-3; ; threshold /= 64)
        {
            float floor = threshold < 1e-12 ? float.Epsilon : (float)(threshold * total);
            candidates = Enumerable.Range(0, weights.Length).Where(i => weights[i] >= floor).ToArray();
            double mass = 0;
            foreach (int i in candidates) mass += weights[i];
            if (mass / total >= p || floor == float.Epsilon) break;
        }
        var keys = candidates.Select(i => -weights[i]).ToArray();
        Array.Sort(keys, candidates);                                                    // best first
        int kept = 0;
        double before = 0;
        while (kept < candidates.Length && (kept == 0 || (float)(before / total) < p))
            before += weights[candidates[kept++]];
        var nucleus = candidates[..kept];
        var keep = new bool[weights.Length];
        foreach (int i in nucleus) keep[i] = true;
        for (int i = 0; i < weights.Length; i++) if (!keep[i]) weights[i] = 0;
        return nucleus;
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

    static float KthLargest(float[] values, int k)
    {
        var copy = (float[])values.Clone();
        Array.Sort(copy);
        return copy[^k];
    }
}
