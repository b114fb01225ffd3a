using TorchSharp;
using static TorchSharp.torch;

namespace Gmsa.Engine.Compression;

/// <summary>
/// Compresses whole contexts of any length: each is cut into segments of at most the compressor's segment
/// length, every segment of every context goes through the encoder in length-sorted batches (little padding,
/// at most <paramref name="maxBatchTokens"/> padded tokens a batch), and each context's soft tokens are its
/// segments' soft tokens in order. This is the batched call the HTTP service puts concurrent requests through.
/// </summary>
public static class SegmentedCompression
{
    /// <summary>Soft tokens for a context: each segment of at most L tokens gives ceil(len / r).</summary>
    public static int SoftTokenCount(int contextTokens, int segmentLength, int rate)
    {
        int full = contextTokens / segmentLength, rest = contextTokens % segmentLength;
        return full * GroupMerge.MergedLength(segmentLength, rate) + GroupMerge.MergedLength(rest, rate);
    }

    /// <returns>per context, soft tokens [n_i, D] with n_i = sum over its segments of ceil(len / rate); the caller owns them</returns>
    public static IReadOnlyList<Tensor> Compress(ContextCompressor compressor, IReadOnlyList<IReadOnlyList<int>> contexts,
        IReadOnlyList<int> rates, int maxBatchTokens = 8192)
    {
        if (contexts.Count != rates.Count) throw new ArgumentException($"need one rate per context ({contexts.Count}), got {rates.Count}");
        if (contexts.Any(c => c.Count == 0)) throw new ArgumentException("a context has no tokens");
        if (rates.Any(r => r < 1)) throw new ArgumentException("rates must be >= 1");
        int segmentLength = compressor.Config.SegmentLength;
        var segments = contexts
            .SelectMany((c, i) => Enumerable.Range(0, (c.Count + segmentLength - 1) / segmentLength)
                .Select(s => (Context: i, Index: s, Tokens: c.Skip(s * segmentLength).Take(segmentLength).ToArray())))
            .OrderByDescending(s => s.Tokens.Length)
            .ToList();

        var pieces = new Tensor?[contexts.Count][];
        for (int i = 0; i < contexts.Count; i++) pieces[i] = new Tensor?[(contexts[i].Count + segmentLength - 1) / segmentLength];
        using var noGrad = no_grad();
        var device = ModelDevice(compressor);
        for (int start = 0; start < segments.Count;)
        {
            int width = segments[start].Tokens.Length, rows = Math.Clamp(maxBatchTokens / width, 1, segments.Count - start);
            var batch = segments.GetRange(start, rows);
            using var scope = NewDisposeScope();
            var ids = new long[rows * width];
            for (int b = 0; b < rows; b++)
                for (int t = 0; t < batch[b].Tokens.Length; t++) ids[b * width + t] = batch[b].Tokens[t];
            var (soft, counts) = compressor.Compress(tensor(ids, [rows, width], device: device),
                batch.Select(s => s.Tokens.Length).ToArray(), batch.Select(s => rates[s.Context]).ToArray());
            for (int b = 0; b < rows; b++)
                pieces[batch[b].Context][batch[b].Index] = soft[b].narrow(0, 0, counts[b]).clone().MoveToOuterDisposeScope();
            start += rows;
        }
        return pieces.Select(p =>
        {
            if (p.Length == 1) return p[0]!;
            var joined = cat(p.Select(x => x!).ToArray(), 0);
            foreach (var x in p) x!.Dispose();
            return joined;
        }).ToArray();
    }

    static Device ModelDevice(ContextCompressor compressor) => compressor.parameters().First().device;
}
