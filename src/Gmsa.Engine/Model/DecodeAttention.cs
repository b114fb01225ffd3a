using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Gmsa.Engine.Model;

// Legend: Dh head dim, S cached + new positions of one row.

/// <summary>
/// One query head of one row attending over that row's cached keys and values, for <see cref="CpuDecodeStep"/>:
/// softmax(q K^T / sqrt(Dh)) V with K and V read in place from the KV cache (bf16 or float32 rows of Dh, one after
/// another). Why its own kernel: at 16 rows a decode step spent more time here than in any projection (per key, a
/// 256-bit dot product with its horizontal sum, a scalar exp and a read-modify-write of the output). Here keys and
/// values go through 512-bit vectors where the CPU has them, the output's accumulators stay in registers across
/// positions, the exponentials are one vectorised pass (<see cref="TensorPrimitives"/>), and the left padding in
/// front of a row is skipped rather than masked position by position.
/// </summary>
internal static unsafe class DecodeAttention
{
    /// <summary>512-bit paths: Dh a multiple of 16 on a CPU that runs Vector512 natively.</summary>
    static bool Wide(int dh) => Vector512.IsHardwareAccelerated && dh % 16 == 0;

    /// <param name="query">[Dh] float32, scaled in place by 1/sqrt(Dh)</param>
    /// <param name="keys">the row's first cached key: S rows of Dh</param>
    /// <param name="values">the row's first cached value: S rows of Dh</param>
    /// <param name="output">[Dh] float32</param>
    /// <param name="scores">scratch of at least S floats</param>
    /// <param name="mask">[S] 1 real, 0 padding; empty when every position is real. The last position (the new token) is real.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // hot from the first token: no tier-0 code
    public static void Head(float* query, nint keys, nint values, float* output, Span<float> scores, int dh, int total,
        bool bf16, ReadOnlySpan<long> mask)
    {
        int start = 0;
        if (!mask.IsEmpty) while (start < total - 1 && mask[start] == 0) start++;   // left padding: never read
        int n = total - start, rowBytes = dh * (bf16 ? 2 : 4);
        nint k0 = keys + (nint)start * rowBytes, v0 = values + (nint)start * rowBytes;
        var q = new Span<float>(query, dh);
        TensorPrimitives.Multiply(q, 1f / MathF.Sqrt(dh), q);
        var s = scores[..n];
        for (int j = 0; j < n; j++)
            s[j] = mask.IsEmpty || mask[start + j] != 0 ? Dot(query, k0 + (nint)j * rowBytes, dh, bf16) : float.NegativeInfinity;
        // softmax: exp(s - max) in one vector pass; a masked hole gets exp(-inf) = 0 (the cache's unused cells are zeros)
        TensorPrimitives.Subtract(s, TensorPrimitives.Max(s), s);
        TensorPrimitives.Exp(s, s);
        var o = new Span<float>(output, dh);
        WeightedSum(s, v0, output, dh, rowBytes, bf16);
        TensorPrimitives.Multiply(o, 1f / TensorPrimitives.Sum(s), o);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // hot from the first token: no tier-0 code
    static float Dot(float* q, nint row, int dh, bool bf16)
    {
        if (!Wide(dh)) return Dot256(q, row, dh, bf16);
        var acc0 = Vector512<float>.Zero;
        var acc1 = Vector512<float>.Zero;    // two chains: the FMAs of one key overlap
        int i = 0;
        if (bf16)
        {
            for (; i + 32 <= dh; i += 32)
            {
                acc0 = Vector512.FusedMultiplyAdd(Vector512.Load(q + i), Bf16(row, i), acc0);
                acc1 = Vector512.FusedMultiplyAdd(Vector512.Load(q + i + 16), Bf16(row, i + 16), acc1);
            }
            if (i < dh) acc0 = Vector512.FusedMultiplyAdd(Vector512.Load(q + i), Bf16(row, i), acc0);
        }
        else
        {
            for (; i + 32 <= dh; i += 32)
            {
                acc0 = Vector512.FusedMultiplyAdd(Vector512.Load(q + i), Vector512.Load((float*)row + i), acc0);
                acc1 = Vector512.FusedMultiplyAdd(Vector512.Load(q + i + 16), Vector512.Load((float*)row + i + 16), acc1);
            }
            if (i < dh) acc0 = Vector512.FusedMultiplyAdd(Vector512.Load(q + i), Vector512.Load((float*)row + i), acc0);
        }
        return Vector512.Sum(acc0 + acc1);
    }

    /// <summary>output = sum_j weights[j] * V_j, four 16-float accumulators held in registers across all positions.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // hot from the first token: no tier-0 code
    static void WeightedSum(ReadOnlySpan<float> weights, nint rows, float* output, int dh, int rowBytes, bool bf16)
    {
        if (!Wide(dh)) { WeightedSum256(weights, rows, output, dh, rowBytes, bf16); return; }
        for (int c = 0; c < dh; c += 64)
        {
            int width = Math.Min(64, dh - c);                // 16, 32, 48 or 64 floats
            Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (int j = 0; j < weights.Length; j++)
            {
                var w = Vector512.Create(weights[j]);
                nint row = rows + (nint)j * rowBytes;
                a0 = Vector512.FusedMultiplyAdd(Load(row, c, bf16), w, a0);
                if (width > 16) a1 = Vector512.FusedMultiplyAdd(Load(row, c + 16, bf16), w, a1);
                if (width > 32) a2 = Vector512.FusedMultiplyAdd(Load(row, c + 32, bf16), w, a2);
                if (width > 48) a3 = Vector512.FusedMultiplyAdd(Load(row, c + 48, bf16), w, a3);
            }
            a0.Store(output + c);
            if (width > 16) a1.Store(output + c + 16);
            if (width > 32) a2.Store(output + c + 32);
            if (width > 48) a3.Store(output + c + 48);
        }
    }

    static Vector512<float> Load(nint row, int i, bool bf16) => bf16 ? Bf16(row, i) : Vector512.Load((float*)row + i);

    /// <summary>16 bf16 values widened to float32: bf16 is float32's upper half.</summary>
    static Vector512<float> Bf16(nint row, int i) =>
        Vector512.ShiftLeft(Vector512.WidenLower(Vector256.Load((ushort*)row + i).ToVector512Unsafe()), 16).AsSingle();

    // 256-bit paths: CPUs without native 512-bit vectors, or a Dh that is not a multiple of 16.

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // hot from the first token: no tier-0 code
    static float Dot256(float* q, nint row, int dh, bool bf16)
    {
        var acc = Vector256<float>.Zero;
        int i = 0;
        for (; i + 8 <= dh; i += 8) acc = Vector256.FusedMultiplyAdd(Vector256.Load(q + i), Load256(row, i, bf16), acc);
        float sum = Vector256.Sum(acc);
        for (; i < dh; i++) sum += q[i] * Scalar(row, i, bf16);
        return sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // hot from the first token: no tier-0 code
    static void WeightedSum256(ReadOnlySpan<float> weights, nint rows, float* output, int dh, int rowBytes, bool bf16)
    {
        new Span<float>(output, dh).Clear();
        for (int j = 0; j < weights.Length; j++)
        {
            nint row = rows + (nint)j * rowBytes;
            var w = Vector256.Create(weights[j]);
            int i = 0;
            for (; i + 8 <= dh; i += 8) Vector256.FusedMultiplyAdd(Load256(row, i, bf16), w, Vector256.Load(output + i)).Store(output + i);
            for (; i < dh; i++) output[i] += weights[j] * Scalar(row, i, bf16);
        }
    }

    static Vector256<float> Load256(nint row, int i, bool bf16) =>
        bf16 ? SmallBatchLinear.Widen((ushort*)row + i) : Vector256.Load((float*)row + i);

    static float Scalar(nint row, int i, bool bf16) =>
        bf16 ? BitConverter.UInt32BitsToSingle((uint)((ushort*)row)[i] << 16) : ((float*)row)[i];
}
