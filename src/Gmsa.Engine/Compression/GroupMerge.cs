using TorchSharp;
using static TorchSharp.torch;

namespace Gmsa.Engine.Compression;

// Legend: B batch, L context tokens (padded), n merged vectors (padded), D hidden, r rate.

/// <summary>
/// GMSA's Group Merging: each row's valid states are split into consecutive groups of r and every group is
/// replaced by its mean, so that no few tokens dominate a summary. A trailing partial group is the mean of the
/// tokens it has, so a row of L tokens gives n = ceil(L / r) vectors; padding never enters a mean. The means
/// are one batched matmul with an averaging matrix (differentiable, any rate per row), taken in float32.
/// </summary>
public static class GroupMerge
{
    public static int MergedLength(int tokens, int rate) => (tokens + rate - 1) / rate;

    /// <param name="hidden">[B, L, D] encoder states, each row right-padded after its <paramref name="lengths"/>[b] tokens</param>
    /// <param name="rates">r per row</param>
    /// <returns>[B, n_max, D], row b valid in its first ceil(L_b / r_b) vectors (zeros after), with those counts</returns>
    public static (Tensor Merged, int[] Counts) Merge(Tensor hidden, IReadOnlyList<int> lengths, IReadOnlyList<int> rates)
    {
        long b = hidden.shape[0], l = hidden.shape[1];
        if (lengths.Count != b || rates.Count != b) throw new ArgumentException($"need one length and one rate per row ({b}), got {lengths.Count} and {rates.Count}");
        if (lengths.Any(n => n < 1 || n > l)) throw new ArgumentException($"row lengths must lie in 1..{l}");
        if (rates.Any(r => r < 1)) throw new ArgumentException("rates must be >= 1");
        var counts = lengths.Select((n, row) => MergedLength(n, rates[row])).ToArray();
        int width = counts.Max();

        var weights = new float[b * width * l]; // weights[b, g, t] = 1 / |group g| for the tokens t of group g
        for (int row = 0; row < b; row++)
            for (int g = 0; g < counts[row]; g++)
            {
                int start = g * rates[row], size = Math.Min(rates[row], lengths[row] - start);
                for (int t = start; t < start + size; t++) weights[(row * width + g) * l + t] = 1f / size;
            }
        using var scope = NewDisposeScope();
        var averaging = tensor(weights, [b, width, l], device: hidden.device);        // [B, n, L]
        var merged = averaging.bmm(hidden.to(ScalarType.Float32)).to(hidden.dtype);    // [B, n, D]
        return (merged.MoveToOuterDisposeScope(), counts);
    }
}
