using System.Runtime.InteropServices;
using Gmsa.Engine.Model;

namespace Gmsa.Engine.Tests.Model;

/// <summary>
/// The decode step's attention kernel against softmax(q K^T / sqrt(Dh)) V computed in double precision, on both of its
/// paths (512-bit for Dh a multiple of 16, 256-bit otherwise), in float32 and bf16 cache rows, with left padding and a
/// padded hole.
/// </summary>
public sealed unsafe class DecodeAttentionTests
{
    [Fact]
    public void Head_TwoPositions_GivesHandComputedAverage()
    {
        // Dh 4, q = 0: both scores 0, weights 1/2 each, output the mean of the two value rows.
        float[] q = [0, 0, 0, 0], keys = [1, 2, 3, 4, 5, 6, 7, 8], values = [2, 0, 4, 8, 0, 2, 0, -8];
        var output = Run(q, keys, values, dh: 4, bf16: false, mask: default);
        Assert.Equal(new float[] { 1, 1, 2, 0 }, output);
    }

    [Theory]
    [InlineData(64, false)] // gmsa-tiny's head dim: the 512-bit path, four accumulators
    [InlineData(64, true)]
    [InlineData(48, true)]  // a partial block of three 16-float vectors
    [InlineData(16, false)]
    [InlineData(24, true)]  // not a multiple of 16: the 256-bit path with a scalar tail
    [InlineData(20, false)]
    public void Head_RandomRows_MatchesDoublePrecisionReference(int dh, bool bf16)
    {
        var random = new Random(dh + (bf16 ? 1 : 0));
        int total = 37;
        float[] q = Values(random, dh), keys = Values(random, total * dh), values = Values(random, total * dh);
        if (bf16) { Round(keys); Round(values); }

        var output = Run(q, keys, values, dh, bf16, mask: default);

        AssertClose(Reference(q, keys, values, dh, Enumerable.Repeat(1L, total).ToArray()), output);
    }

    [Theory]
    [InlineData(64, true)]
    [InlineData(24, false)]
    public void Head_LeftPaddingAndAHole_IgnoresMaskedPositions(int dh, bool bf16)
    {
        var random = new Random(7);
        int total = 21;
        float[] q = Values(random, dh), keys = Values(random, total * dh), values = Values(random, total * dh);
        if (bf16) { Round(keys); Round(values); }
        var mask = Enumerable.Range(0, total).Select(j => j < 6 || j == 12 ? 0L : 1L).ToArray();
        for (int j = 0; j < total; j++)                                              // padding that would swamp the result if read
            if (mask[j] == 0) for (int i = 0; i < dh; i++) keys[j * dh + i] = values[j * dh + i] = 1e6f;

        var output = Run(q, keys, values, dh, bf16, mask);

        AssertClose(Reference(q, keys, values, dh, mask), output);
    }

    static float[] Run(float[] q, float[] keys, float[] values, int dh, bool bf16, ReadOnlySpan<long> mask)
    {
        int total = keys.Length / dh;
        byte[] k = Cache(keys, bf16), v = Cache(values, bf16);
        var query = (float[])q.Clone();
        var output = new float[dh];
        var scores = new float[total];
        fixed (byte* kp = k, vp = v)
        fixed (float* qp = query, op = output)
            DecodeAttention.Head(qp, (nint)kp, (nint)vp, op, scores, dh, total, bf16, mask);
        return output;
    }

    static byte[] Cache(float[] rows, bool bf16) => bf16
        ? MemoryMarshal.AsBytes(rows.Select(SmallBatchLinear.ToBf16).ToArray().AsSpan()).ToArray()
        : MemoryMarshal.AsBytes(rows.AsSpan()).ToArray();

    static float[] Reference(float[] q, float[] keys, float[] values, int dh, long[] mask)
    {
        int total = keys.Length / dh;
        var scores = new double[total];
        for (int j = 0; j < total; j++)
        {
            double dot = 0;
            for (int i = 0; i < dh; i++) dot += (double)q[i] * keys[j * dh + i];
            scores[j] = mask[j] == 0 ? double.NegativeInfinity : dot / Math.Sqrt(dh);
        }
        double max = scores.Max(), sum = scores.Sum(s => Math.Exp(s - max));
        var output = new float[dh];
        for (int i = 0; i < dh; i++)
        {
            double acc = 0;
            for (int j = 0; j < total; j++) if (mask[j] != 0) acc += Math.Exp(scores[j] - max) / sum * values[j * dh + i];
            output[i] = (float)acc;
        }
        return output;
    }

    static float[] Values(Random random, int n) => Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray();

    /// <summary>Rounds to bf16 in place, so the reference sees exactly what the bf16 cache holds.</summary>
    static void Round(float[] values)
    {
        for (int i = 0; i < values.Length; i++) values[i] = BitConverter.UInt32BitsToSingle((uint)SmallBatchLinear.ToBf16(values[i]) << 16);
    }

    static void AssertClose(float[] expected, float[] actual)
    {
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-5 + 1e-5 * Math.Abs(expected[i]), $"element {i}: {actual[i]} against {expected[i]}");
    }
}
