using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Gmsa.Engine.Model;

/// <summary>
/// The 512-bit tiles of <see cref="SmallBatchLinear"/>: 4 weight rows x 4 input rows, sixteen 16-float accumulators in
/// registers, for the rows of a decode step (bf16: every batch size, so that a row adds in one order whatever its batch;
/// float32: four rows or more). Why: with more rows per weight the step is bound by arithmetic,
/// not by streaming the weights, and the 256-bit widening tile left half of each instruction's width unused. Two
/// measured details: bf16 weights are split into even and odd elements instead of being widened (half the
/// instructions), and the next tile's weight rows are prefetched while this tile runs (without it, a 16-row step's
/// projections waited on memory: 1,032-1,462 against 1,882-2,076 tokens/s on one core, gmsa-tiny, 2026-12-04).
/// </summary>
internal static unsafe class WideTiles
{
    /// <summary>The tiles apply: In a multiple of <paramref name="chunk"/> (32 bf16, 16 float32) on a CPU with native 512-bit vectors.</summary>
    public static bool Usable(int n, int chunk) => n % chunk == 0 && Vector512.IsHardwareAccelerated;

    /// <summary>
    /// Output rows lo..hi-1 of one bf16 weight [outRows, In] for all M paired input rows (y float32 [M, outRows]): 4 x 4
    /// tiles, then one input row against four weight rows, then single dot products. All three add the same products in
    /// the same order into one accumulator lane per even/odd pair and sum the lanes the same way, so a row's result is
    /// the same bits whatever rows share its batch: a bf16 row decodes the same text alone as in a batch of up to
    /// <see cref="CpuDecodeStep.KernelRows"/>.
    /// </summary>
    public static void RowsBf16(ushort* w, float* x, float* y, int lo, int hi, int outRows, int m, int n)
    {
        int o = lo;
        for (; o + 4 <= hi; o += 4)
        {
            var rows = w + (long)o * n;
            int r = 0;
            for (; r + 4 <= m; r += 4) Bf16(rows, x + (long)r * n, n, y + (long)r * outRows + o, outRows);
            for (; r < m; r++) Bf16Row(rows, x + (long)r * n, n, y + (long)r * outRows + o);
        }
        for (; o < hi; o++)
            for (int r = 0; r < m; r++) y[(long)r * outRows + o] = Bf16Dot(w + (long)o * n, x + (long)r * n, n);
    }

    /// <summary>y[j] = dot(w row j, x) for j &lt; 4: one input row, the tile's order of operations.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Bf16Row(ushort* w, float* x, int n, float* y)
    {
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        var upper = Vector512.Create(0xFFFF0000u);
        for (int i = 0; i < n; i += 32)
        {
            PrefetchNextTile((byte*)(w + 4L * n + i), n * sizeof(ushort));
            var r0 = Vector512.Load((uint*)(w + i));
            var r1 = Vector512.Load((uint*)(w + n + i));
            var r2 = Vector512.Load((uint*)(w + 2L * n + i));
            var r3 = Vector512.Load((uint*)(w + 3L * n + i));
            var xv = Vector512.Load(x + i);
            a0 = Vector512.FusedMultiplyAdd(Vector512.ShiftLeft(r0, 16).AsSingle(), xv, a0);
            a1 = Vector512.FusedMultiplyAdd(Vector512.ShiftLeft(r1, 16).AsSingle(), xv, a1);
            a2 = Vector512.FusedMultiplyAdd(Vector512.ShiftLeft(r2, 16).AsSingle(), xv, a2);
            a3 = Vector512.FusedMultiplyAdd(Vector512.ShiftLeft(r3, 16).AsSingle(), xv, a3);
            xv = Vector512.Load(x + i + 16);
            a0 = Vector512.FusedMultiplyAdd((r0 & upper).AsSingle(), xv, a0);
            a1 = Vector512.FusedMultiplyAdd((r1 & upper).AsSingle(), xv, a1);
            a2 = Vector512.FusedMultiplyAdd((r2 & upper).AsSingle(), xv, a2);
            a3 = Vector512.FusedMultiplyAdd((r3 & upper).AsSingle(), xv, a3);
        }
        y[0] = Vector512.Sum(a0); y[1] = Vector512.Sum(a1); y[2] = Vector512.Sum(a2); y[3] = Vector512.Sum(a3);
    }

    /// <summary>dot(w, x) for one bf16 weight row and one paired input row, the tile's order of operations.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static float Bf16Dot(ushort* w, float* x, int n)
    {
        Vector512<float> a = default;
        var upper = Vector512.Create(0xFFFF0000u);
        for (int i = 0; i < n; i += 32)
        {
            var r = Vector512.Load((uint*)(w + i));
            a = Vector512.FusedMultiplyAdd(Vector512.ShiftLeft(r, 16).AsSingle(), Vector512.Load(x + i), a);
            a = Vector512.FusedMultiplyAdd((r & upper).AsSingle(), Vector512.Load(x + i + 16), a);
        }
        return Vector512.Sum(a);
    }

    [ThreadStatic] static float[]? paired;

    /// <summary>
    /// The input rows [M, In] with each 32-float chunk reordered as its 16 even then its 16 odd elements, the order in which
    /// <see cref="Bf16"/> reads a weight chunk; a per-thread pinned buffer reused from call to call.
    /// </summary>
    public static nint PairedInput(float* x, int m, int n)
    {
        if (paired is null || paired.Length < m * n) paired = GC.AllocateUninitializedArray<float>(Math.Max(m * n, 2 * (paired?.Length ?? 0)), pinned: true);
        fixed (float* p = paired)
        {
            for (int c = 0; c < m * n; c += 32)
                for (int k = 0; k < 16; k++)
                {
                    p[c + k] = x[c + 2 * k];
                    p[c + 16 + k] = x[c + 2 * k + 1];
                }
            return (nint)p;    // pinned at allocation: the address outlives the fixed block
        }
    }

    /// <summary>
    /// y[r * stride + j] = dot(w row j, x row r) for j, r &lt; 4, bf16 weights, without widening them: a 32-bit lane of a
    /// weight chunk holds two bf16 values, the even element in its lower half and the odd one in its upper half, so a
    /// shift left by 16 gives the even elements as float32 and masking off the lower half gives the odd ones.
    /// <paramref name="x"/> is the input split the same way (<see cref="PairedInput"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Bf16(ushort* w, float* x, int n, float* y, int stride)
    {
        Vector512<float> a00 = default, a01 = default, a02 = default, a03 = default, a10 = default, a11 = default, a12 = default, a13 = default,
                         a20 = default, a21 = default, a22 = default, a23 = default, a30 = default, a31 = default, a32 = default, a33 = default;
        var upper = Vector512.Create(0xFFFF0000u);
        for (int i = 0; i < n; i += 32)
        {
            PrefetchNextTile((byte*)(w + 4L * n + i), n * sizeof(ushort));
            var r0 = Vector512.Load((uint*)(w + i));
            var r1 = Vector512.Load((uint*)(w + n + i));
            var r2 = Vector512.Load((uint*)(w + 2L * n + i));
            var r3 = Vector512.Load((uint*)(w + 3L * n + i));
            var w0 = Vector512.ShiftLeft(r0, 16).AsSingle();                     // even elements
            var w1 = Vector512.ShiftLeft(r1, 16).AsSingle();
            var w2 = Vector512.ShiftLeft(r2, 16).AsSingle();
            var w3 = Vector512.ShiftLeft(r3, 16).AsSingle();
            var xv = Vector512.Load(x + i);
            a00 = Vector512.FusedMultiplyAdd(w0, xv, a00); a01 = Vector512.FusedMultiplyAdd(w1, xv, a01);
            a02 = Vector512.FusedMultiplyAdd(w2, xv, a02); a03 = Vector512.FusedMultiplyAdd(w3, xv, a03);
            xv = Vector512.Load(x + n + i);
            a10 = Vector512.FusedMultiplyAdd(w0, xv, a10); a11 = Vector512.FusedMultiplyAdd(w1, xv, a11);
            a12 = Vector512.FusedMultiplyAdd(w2, xv, a12); a13 = Vector512.FusedMultiplyAdd(w3, xv, a13);
            xv = Vector512.Load(x + 2L * n + i);
            a20 = Vector512.FusedMultiplyAdd(w0, xv, a20); a21 = Vector512.FusedMultiplyAdd(w1, xv, a21);
            a22 = Vector512.FusedMultiplyAdd(w2, xv, a22); a23 = Vector512.FusedMultiplyAdd(w3, xv, a23);
            xv = Vector512.Load(x + 3L * n + i);
            a30 = Vector512.FusedMultiplyAdd(w0, xv, a30); a31 = Vector512.FusedMultiplyAdd(w1, xv, a31);
            a32 = Vector512.FusedMultiplyAdd(w2, xv, a32); a33 = Vector512.FusedMultiplyAdd(w3, xv, a33);
            w0 = (r0 & upper).AsSingle();                                         // odd elements
            w1 = (r1 & upper).AsSingle();
            w2 = (r2 & upper).AsSingle();
            w3 = (r3 & upper).AsSingle();
            xv = Vector512.Load(x + i + 16);
            a00 = Vector512.FusedMultiplyAdd(w0, xv, a00); a01 = Vector512.FusedMultiplyAdd(w1, xv, a01);
            a02 = Vector512.FusedMultiplyAdd(w2, xv, a02); a03 = Vector512.FusedMultiplyAdd(w3, xv, a03);
            xv = Vector512.Load(x + n + i + 16);
            a10 = Vector512.FusedMultiplyAdd(w0, xv, a10); a11 = Vector512.FusedMultiplyAdd(w1, xv, a11);
            a12 = Vector512.FusedMultiplyAdd(w2, xv, a12); a13 = Vector512.FusedMultiplyAdd(w3, xv, a13);
            xv = Vector512.Load(x + 2L * n + i + 16);
            a20 = Vector512.FusedMultiplyAdd(w0, xv, a20); a21 = Vector512.FusedMultiplyAdd(w1, xv, a21);
            a22 = Vector512.FusedMultiplyAdd(w2, xv, a22); a23 = Vector512.FusedMultiplyAdd(w3, xv, a23);
            xv = Vector512.Load(x + 3L * n + i + 16);
            a30 = Vector512.FusedMultiplyAdd(w0, xv, a30); a31 = Vector512.FusedMultiplyAdd(w1, xv, a31);
            a32 = Vector512.FusedMultiplyAdd(w2, xv, a32); a33 = Vector512.FusedMultiplyAdd(w3, xv, a33);
        }
        StoreSums(y, stride, a00, a01, a02, a03, a10, a11, a12, a13, a20, a21, a22, a23, a30, a31, a32, a33);
    }

    /// <summary>y[r * stride + j] = dot(w row j, x row r) for j, r &lt; 4, float32 weights, 512-bit vectors.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void F32(float* w, float* x, int n, float* y, int stride)
    {
        Vector512<float> a00 = default, a01 = default, a02 = default, a03 = default, a10 = default, a11 = default, a12 = default, a13 = default,
                         a20 = default, a21 = default, a22 = default, a23 = default, a30 = default, a31 = default, a32 = default, a33 = default;
        for (int i = 0; i < n; i += 16)
        {
            PrefetchNextTile((byte*)(w + 4L * n + i), n * sizeof(float));
            var w0 = Vector512.Load(w + i);
            var w1 = Vector512.Load(w + n + i);
            var w2 = Vector512.Load(w + 2L * n + i);
            var w3 = Vector512.Load(w + 3L * n + i);
            var xv = Vector512.Load(x + i);
            a00 = Vector512.FusedMultiplyAdd(w0, xv, a00); a01 = Vector512.FusedMultiplyAdd(w1, xv, a01);
            a02 = Vector512.FusedMultiplyAdd(w2, xv, a02); a03 = Vector512.FusedMultiplyAdd(w3, xv, a03);
            xv = Vector512.Load(x + n + i);
            a10 = Vector512.FusedMultiplyAdd(w0, xv, a10); a11 = Vector512.FusedMultiplyAdd(w1, xv, a11);
            a12 = Vector512.FusedMultiplyAdd(w2, xv, a12); a13 = Vector512.FusedMultiplyAdd(w3, xv, a13);
            xv = Vector512.Load(x + 2L * n + i);
            a20 = Vector512.FusedMultiplyAdd(w0, xv, a20); a21 = Vector512.FusedMultiplyAdd(w1, xv, a21);
            a22 = Vector512.FusedMultiplyAdd(w2, xv, a22); a23 = Vector512.FusedMultiplyAdd(w3, xv, a23);
            xv = Vector512.Load(x + 3L * n + i);
            a30 = Vector512.FusedMultiplyAdd(w0, xv, a30); a31 = Vector512.FusedMultiplyAdd(w1, xv, a31);
            a32 = Vector512.FusedMultiplyAdd(w2, xv, a32); a33 = Vector512.FusedMultiplyAdd(w3, xv, a33);
        }
        StoreSums256(y, stride, a00, a01, a02, a03, a10, a11, a12, a13, a20, a21, a22, a23, a30, a31, a32, a33);
    }

    /// <summary>The 4 x 4 tile's horizontal sums: y[r * stride + j] = sum of a_rj.</summary>
    static void StoreSums(float* y, int stride, Vector512<float> a00, Vector512<float> a01, Vector512<float> a02, Vector512<float> a03,
        Vector512<float> a10, Vector512<float> a11, Vector512<float> a12, Vector512<float> a13, Vector512<float> a20, Vector512<float> a21,
        Vector512<float> a22, Vector512<float> a23, Vector512<float> a30, Vector512<float> a31, Vector512<float> a32, Vector512<float> a33)
    {
        y[0] = Vector512.Sum(a00); y[1] = Vector512.Sum(a01); y[2] = Vector512.Sum(a02); y[3] = Vector512.Sum(a03);
        y += stride;
        y[0] = Vector512.Sum(a10); y[1] = Vector512.Sum(a11); y[2] = Vector512.Sum(a12); y[3] = Vector512.Sum(a13);
        y += stride;
        y[0] = Vector512.Sum(a20); y[1] = Vector512.Sum(a21); y[2] = Vector512.Sum(a22); y[3] = Vector512.Sum(a23);
        y += stride;
        y[0] = Vector512.Sum(a30); y[1] = Vector512.Sum(a31); y[2] = Vector512.Sum(a32); y[3] = Vector512.Sum(a33);
    }

    /// <summary>
    /// The float32 tile's sums in <see cref="SmallBatchLinear"/>'s DotF32 order: the 512-bit accumulator's lanes are the
    /// two 256-bit accumulators that DotF32 keeps over the same 16-element steps, so adding its halves and summing 8 lanes
    /// gives the same bits, and a float32 row's logits do not depend on how many rows share its batch (the scheduler's
    /// tests hold a row in a batch to the same tokens as alone).
    /// </summary>
    static void StoreSums256(float* y, int stride, Vector512<float> a00, Vector512<float> a01, Vector512<float> a02, Vector512<float> a03,
        Vector512<float> a10, Vector512<float> a11, Vector512<float> a12, Vector512<float> a13, Vector512<float> a20, Vector512<float> a21,
        Vector512<float> a22, Vector512<float> a23, Vector512<float> a30, Vector512<float> a31, Vector512<float> a32, Vector512<float> a33)
    {
        y[0] = Sum(a00); y[1] = Sum(a01); y[2] = Sum(a02); y[3] = Sum(a03);
        y += stride;
        y[0] = Sum(a10); y[1] = Sum(a11); y[2] = Sum(a12); y[3] = Sum(a13);
        y += stride;
        y[0] = Sum(a20); y[1] = Sum(a21); y[2] = Sum(a22); y[3] = Sum(a23);
        y += stride;
        y[0] = Sum(a30); y[1] = Sum(a31); y[2] = Sum(a32); y[3] = Sum(a33);
        static float Sum(Vector512<float> a) => Vector256.Sum(a.GetLower() + a.GetUpper());
    }

    /// <summary>One cache line of each of the next tile's four weight rows (the rows after this tile's, <paramref name="rowBytes"/> apart).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void PrefetchNextTile(byte* next, int rowBytes)
    {
        if (!Sse.IsSupported) return;
        Sse.Prefetch0(next);
        Sse.Prefetch0(next + rowBytes);
        Sse.Prefetch0(next + 2L * rowBytes);
        Sse.Prefetch0(next + 3L * rowBytes);
    }
}
