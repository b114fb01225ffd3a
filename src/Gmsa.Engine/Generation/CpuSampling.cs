using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace Gmsa.Engine.Generation;

// Legend: B rows, V vocab.

/// <summary>
/// <see cref="Sampler"/>'s draw for float32 rows on the CPU, in plain loops: temperature, top-k, top-p and one draw.
/// libtorch's CPU sort of one 8,192-entry row took 1.2 ms and its multinomial 0.5 ms, more than a whole gmsa-tiny
/// decode step; here the nucleus comes from a selection and the draw from one uniform number of the row's generator.
/// The tokens kept are the libtorch filter's (tested against it, and CUDA still takes it); the draw follows the same
/// distribution, so a seed gives other (as reproducible) texts than libtorch's multinomial gave. Penalties and greedy's
/// argmax stay libtorch ops: vectorized, they cost less than a managed pass over the row (`gmsa bench decode`).
/// </summary>
internal static class CpuSampling
{
    /// <summary>[B] int64 token ids, one draw per row of <paramref name="scores"/> [B, V] (float32, CPU).</summary>
    public static Tensor Draw(Tensor scores, double temperature, int topK, double topP, Generator? generator)
    {
        int b = (int)scores.shape[0], v = (int)scores.shape[1];
        using var scope = NewDisposeScope();
        var all = MemoryMarshal.Cast<byte, float>(scores.contiguous().bytes).ToArray();
        var u = rand([b], ScalarType.Float64, generator: generator).data<double>().ToArray();
        var weights = new float[v];
        var chosen = new long[b];
        for (int r = 0; r < b; r++)
        {
            var order = Filter(all.AsSpan(r * v, v), temperature, topK, topP, weights);
            chosen[r] = Pick(weights, order, u[r]);
        }
        return tensor(chosen, [b]).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Writes each token's unnormalised probability after temperature, top-k and top-p into <paramref name="weights"/> (0
    /// for a dropped token) and returns the tokens to draw from: the nucleus (in no particular order), or null for all.
    /// </summary>
    internal static int[]? Filter(ReadOnlySpan<float> row, double temperature, int topK, double topP, float[] weights)
    {
        // As the libtorch path: shifted so the best token scores 0 before dividing (a tiny temperature sends the others
        // to -inf, greedy in the limit), in float32.
        // Vector passes (System.Numerics.Tensors): the scalar loops with MathF.Exp took ~55 us of a 130 us draw.
        var w = weights.AsSpan(0, row.Length);
        float max = TensorPrimitives.Max(row);
        float t = Math.Max((float)temperature, float.Epsilon);
        TensorPrimitives.Subtract(row, max, w);
        TensorPrimitives.Divide(w, t, w);
        if (topK > 0 && topK < row.Length)
        {
            float kth = KthLargest(weights, topK);
            for (int i = 0; i < weights.Length; i++) if (weights[i] < kth) weights[i] = float.NegativeInfinity;
        }
        TensorPrimitives.Exp(w, w);
        return topP < 1.0 ? Nucleus(weights, Sum(w), (float)topP) : null;
    }

    /// <summary>The sum in double precision, four running sums apart (one chain of 8,192 dependent adds took ~10 us).</summary>
    static double Sum(ReadOnlySpan<float> values)
    {
        double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        int i = 0;
        for (; i + 4 <= values.Length; i += 4)
        {
            s0 += values[i];
            s1 += values[i + 1];
            s2 += values[i + 2];
            s3 += values[i + 3];
        }
        for (; i < values.Length; i++) s0 += values[i];
        return (s0 + s1) + (s2 + s3);
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
        // A token of weight w has at most V * w of the mass at or below it, so at least total - V * w strictly above it:
        // at or under (total - target) / V it is dropped whatever the order (the top token too, unless the target is 0,
        // when the top token alone is kept). Most of a vocabulary is, so the selection below sorts out a few hundred
        // tokens instead of all of them (it took ~50 us a row over all 8,192). The margin covers the bound's rounding.
        float floor = target > 0 ? Math.Max(0f, (float)((total - target) / weights.Length * (1 - 1e-5))) : 0f;
        var index = new int[weights.Length];
        int hi = 0;
        for (int i = 0; i < weights.Length; i++)
        {
            index[hi] = i;                        // written always, kept by the count: no branch to mispredict
            hi += weights[i] > floor ? 1 : 0;
        }
        int lo = 0;   // index[..lo] kept (heavier than every undecided token), index[lo..hi] undecided
        while (lo < hi && (lo == 0 || above < target))
        {
            // Three-way partition of the undecided tokens, heaviest first: [lo, heavy) > pivot, [heavy, light] == pivot, (light, hi) < pivot.
            float pivot = weights[index[(lo + hi) >>> 1]];
            int heavy = lo, at = lo, light = hi - 1;
            double heavyMass = 0;
            while (at <= light)
            {
                float w = weights[index[at]];
                if (w > pivot) { (index[heavy], index[at]) = (index[at], index[heavy]); heavy++; at++; heavyMass += w; }
                else if (w < pivot) { (index[at], index[light]) = (index[light], index[at]); light--; }
                else at++;
            }
            if (heavy > lo && above + heavyMass >= target)
            {
                hi = heavy;   // the last kept token is among the heavier ones
                continue;
            }
            above += heavyMass;
            lo = heavy;
            for (; lo <= light; lo++)
            {
                if (lo > 0 && above >= target) break;
                above += weights[index[lo]];
            }
            if (lo <= light) break;   // the nucleus ended among the tokens equal to the pivot
        }
        var nucleus = index[..lo];
        var kept = new float[lo];
        for (int j = 0; j < lo; j++) kept[j] = weights[nucleus[j]];
        Array.Clear(weights);
        for (int j = 0; j < lo; j++) weights[nucleus[j]] = kept[j];
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
