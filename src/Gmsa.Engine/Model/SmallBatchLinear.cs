using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using TorchSharp;
using static TorchSharp.torch;

namespace Gmsa.Engine.Model;

// Legend: M input rows (a decode step's batch), In/Out features.

/// <summary>
/// y = x W^T for the few rows of a decode step, on CPU: the projections of <see cref="CpuDecodeStep"/>. Decode reads every
/// weight once per token and is bound by how fast it streams them: libtorch's matrix-vector path reached about half the
/// bandwidth of llama2.c's plain loop on the same two cores, so a token took twice as long. This kernel reads each weight
/// row once for all M input rows, widens bf16 weights to float32 with a shift (bf16 is float32's upper half),
/// accumulates in float32 and splits output rows over <see cref="KernelWorkers"/>. Several projections of one input
/// (q/k/v, gate/up) share one pass: the fused projections of the reference engines, with the checkpoint's tensors as
/// they are.
/// </summary>
public static unsafe class SmallBatchLinear
{
    /// <summary>[..., In] by [Out, In] (+ [Out]) -> [..., Out].</summary>
    public static Tensor Forward(Tensor x, Tensor weight, Tensor? bias = null) => Forward(x, [weight], [bias])[0];

    /// <summary>One pass of x through several weights of the same In (each with its optional bias): one output per weight.</summary>
    public static Tensor[] Forward(Tensor x, IReadOnlyList<Tensor> weights, IReadOnlyList<Tensor?> biases)
    {
        foreach (var w in weights)
            if (x.device_type != DeviceType.CPU || w.device_type != DeviceType.CPU || w.dtype != x.dtype || w.dim() != 2
                || !w.is_contiguous() || w.shape[1] != x.shape[^1] || (x.dtype != ScalarType.Float32 && x.dtype != ScalarType.BFloat16))
                throw new ArgumentException("the kernel takes CPU float32 or bf16 inputs [..., In] and contiguous weights [Out, In] of the same dtype");
        // Decode calls this ~50 times a token, so per-call overhead counts: buffers are reused, shapes read once.
        var shape = x.shape;
        int inFeatures = (int)shape[^1], rows = (int)(x.numel() / inFeatures);
        var input = x.is_contiguous() ? x : x.contiguous();
        int totalOut = 0;
        foreach (var w in weights) totalOut += (int)w.shape[0];
        var buffers = Buffers.ForThread(rows * inFeatures, rows * totalOut);
        ToFloat(input, buffers.Input.AsSpan(0, rows * inFeatures));                    // [M, In] float32
        var jobs = new Projection[weights.Count];
        fixed (float* xp = buffers.Input, yp = buffers.Output)
        {
            int offset = 0;
            for (int i = 0; i < weights.Count; i++)
            {
                int outFeatures = (int)weights[i].shape[0];
                jobs[i] = new Projection(Address(weights[i]), outFeatures, (nint)(yp + (long)rows * offset));
                offset += outFeatures;
            }
            Multiply(xp, rows, inFeatures, jobs, x.dtype == ScalarType.BFloat16);
        }
        var outputs = new Tensor[weights.Count];
        int at = 0;
        for (int i = 0; i < weights.Count; i++)
        {
            shape[^1] = jobs[i].Rows;
            outputs[i] = empty(shape, x.dtype);
            FromFloat(buffers.Output.AsSpan(at, rows * jobs[i].Rows), outputs[i]);
            at += rows * jobs[i].Rows;
            if (biases.Count > i && biases[i] is { } b) outputs[i].add_(b);
        }
        return outputs;
    }

    /// <summary>One weight [Rows, In] (bf16 or float32, as the call says) and where its float32 output [M, Rows] goes.</summary>
    internal readonly record struct Projection(nint Weight, int Rows, nint Output);

    /// <summary>
    /// The kernel: every projection's output rows for all M input rows (float32 [M, In] at x), split over
    /// <see cref="Threads"/> cores in parts of multiples of four rows, several per core (see <see cref="KernelWorkers"/>).
    /// </summary>
    internal static void Multiply(float* x, int m, int inFeatures, Projection[] jobs, bool bf16)
    {
        int total = 0;
        foreach (var j in jobs) total += j.Rows;
        int parts = KernelWorkers.Parts(Threads, total / 256);
        nint xp = (nint)x, paired = bf16 && WideTiles.Usable(inFeatures, 32) ? WideTiles.PairedInput(x, m, inFeatures) : 0;
        if (parts == 1) { Part(jobs, 0, total, xp, paired, m, inFeatures, bf16); return; }
        KernelWorkers.For(Threads).Run(parts, part =>
        {
            int from = (int)((long)total * part / parts) & ~3, to = part == parts - 1 ? total : (int)((long)total * (part + 1) / parts) & ~3;
            Part(jobs, from, to, xp, paired, m, inFeatures, bf16);
        });
    }

    /// <summary>Cores the kernel splits rows over; the CLI's --threads sets it with libtorch's.</summary>
    public static int Threads { get; set; } = Environment.ProcessorCount;

    internal static nint Address(Tensor t) => (nint)Unsafe.AsPointer(ref MemoryMarshal.GetReference(t.bytes));

    static void ToFloat(Tensor x, Span<float> into)
    {
        if (x.dtype == ScalarType.Float32) { MemoryMarshal.Cast<byte, float>(x.bytes).CopyTo(into); return; }
        var raw = MemoryMarshal.Cast<byte, ushort>(x.bytes);
        for (int i = 0; i < into.Length; i++) into[i] = BitConverter.UInt32BitsToSingle((uint)raw[i] << 16);
    }

    internal static void FromFloat(ReadOnlySpan<float> values, Tensor into)
    {
        if (into.dtype == ScalarType.Float32) { values.CopyTo(MemoryMarshal.Cast<byte, float>(into.bytes)); return; }
        var raw = MemoryMarshal.Cast<byte, ushort>(into.bytes);
        for (int i = 0; i < values.Length; i++) raw[i] = ToBf16(values[i]);
    }

    /// <summary>Pinned float32 scratch per thread (the model's thread), grown on demand and reused.</summary>
    sealed class Buffers
    {
        [ThreadStatic] static Buffers? current;
        public float[] Input = [], Output = [];

        public static Buffers ForThread(int input, int output)
        {
            var b = current ??= new Buffers();
            if (b.Input.Length < input) b.Input = GC.AllocateUninitializedArray<float>(Math.Max(input, 2 * b.Input.Length), pinned: true);
            if (b.Output.Length < output) b.Output = GC.AllocateUninitializedArray<float>(Math.Max(output, 2 * b.Output.Length), pinned: true);
            return b;
        }
    }

    static void Part(Projection[] jobs, int from, int to, nint x, nint paired, int m, int inFeatures, bool bf16)
    {
        int start = 0;
        foreach (var job in jobs)
        {
            int lo = Math.Max(from, start) - start, hi = Math.Min(to, start + job.Rows) - start;
            if (lo < hi)
            {
                if (bf16) RowsBf16((ushort*)job.Weight, (float*)x, (float*)paired, (float*)job.Output, lo, hi, job.Rows, m, inFeatures);
                else RowsF32((float*)job.Weight, (float*)x, (float*)job.Output, lo, hi, job.Rows, m, inFeatures);
            }
            start += job.Rows;
        }
    }

    // Output rows lo..hi-1 of one weight [outRows, In]; y is float32 [M, outRows]. One weight row is read from memory once
    // and multiplied with every input row while it sits in L1; input rows go four at a time (four independent FMA chains).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // hot from the first token: no tier-0 code
    static void RowsBf16(ushort* w, float* x, float* paired, float* y, int lo, int hi, int outRows, int m, int n)
    {
        if (paired != null) { WideTiles.RowsBf16(w, paired, y, lo, hi, outRows, m, n); return; }
        int o = lo;
        if (m >= 4 && n % 8 == 0)
            for (; o + 4 <= hi; o += 4)                  // tiles of 4 weight rows x 4 input rows: 16 accumulators in registers
            {
                var rows = w + (long)o * n;
                int r = 0;
                for (; r + 4 <= m; r += 4) Tile4x4Bf16(rows, x + (long)r * n, n, y + (long)r * outRows + o, outRows);
                for (; r < m; r++)
                    for (int j = 0; j < 4; j++) y[(long)r * outRows + o + j] = DotBf16(rows + (long)j * n, x + (long)r * n, n);
            }
        for (; o < hi; o++)
        {
            var row = w + (long)o * n;
            int r = 0;
            for (; r + 4 <= m; r += 4) Dot4Bf16(row, x + (long)r * n, n, y + (long)r * outRows + o, outRows);
            for (; r < m; r++) y[(long)r * outRows + o] = DotBf16(row, x + (long)r * n, n);
        }
    }

    /// <summary>
    /// y[r * stride + j] = dot(w row j, x row r) for j, r &lt; 4. Each 8-wide step loads four weight chunks and four input
    /// chunks for sixteen FMAs, so with several rows the kernel is bound by arithmetic rather than loads.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Tile4x4Bf16(ushort* w, float* x, int n, float* y, int stride)
    {
        Vector256<float> a00 = default, a01 = default, a02 = default, a03 = default, a10 = default, a11 = default, a12 = default, a13 = default,
                         a20 = default, a21 = default, a22 = default, a23 = default, a30 = default, a31 = default, a32 = default, a33 = default;
        for (int i = 0; i < n; i += 8)
        {
            var w0 = Widen(w + i);
            var w1 = Widen(w + n + i);
            var w2 = Widen(w + 2L * n + i);
            var w3 = Widen(w + 3L * n + i);
            var x0 = Vector256.Load(x + i);
            a00 = Vector256.FusedMultiplyAdd(w0, x0, a00); a01 = Vector256.FusedMultiplyAdd(w1, x0, a01);
            a02 = Vector256.FusedMultiplyAdd(w2, x0, a02); a03 = Vector256.FusedMultiplyAdd(w3, x0, a03);
            var x1 = Vector256.Load(x + n + i);
            a10 = Vector256.FusedMultiplyAdd(w0, x1, a10); a11 = Vector256.FusedMultiplyAdd(w1, x1, a11);
            a12 = Vector256.FusedMultiplyAdd(w2, x1, a12); a13 = Vector256.FusedMultiplyAdd(w3, x1, a13);
            var x2 = Vector256.Load(x + 2L * n + i);
            a20 = Vector256.FusedMultiplyAdd(w0, x2, a20); a21 = Vector256.FusedMultiplyAdd(w1, x2, a21);
            a22 = Vector256.FusedMultiplyAdd(w2, x2, a22); a23 = Vector256.FusedMultiplyAdd(w3, x2, a23);
            var x3 = Vector256.Load(x + 3L * n + i);
            a30 = Vector256.FusedMultiplyAdd(w0, x3, a30); a31 = Vector256.FusedMultiplyAdd(w1, x3, a31);
            a32 = Vector256.FusedMultiplyAdd(w2, x3, a32); a33 = Vector256.FusedMultiplyAdd(w3, x3, a33);
        }
        y[0] = Vector256.Sum(a00); y[1] = Vector256.Sum(a01); y[2] = Vector256.Sum(a02); y[3] = Vector256.Sum(a03);
        y += stride;
        y[0] = Vector256.Sum(a10); y[1] = Vector256.Sum(a11); y[2] = Vector256.Sum(a12); y[3] = Vector256.Sum(a13);
        y += stride;
        y[0] = Vector256.Sum(a20); y[1] = Vector256.Sum(a21); y[2] = Vector256.Sum(a22); y[3] = Vector256.Sum(a23);
        y += stride;
        y[0] = Vector256.Sum(a30); y[1] = Vector256.Sum(a31); y[2] = Vector256.Sum(a32); y[3] = Vector256.Sum(a33);
    }

    /// <summary>Eight bf16 values as float32: zero-extend to 32 bits, shift into the upper half.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> Widen(ushort* p) =>
        Vector256.ShiftLeft(Vector256.WidenLower(Vector128.Load(p).ToVector256Unsafe()), 16).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // hot from the first token: no tier-0 code
    static void RowsF32(float* w, float* x, float* y, int lo, int hi, int outRows, int m, int n)
    {
        int o = lo;
        if (m >= 4 && WideTiles.Usable(n, 16))
            for (; o + 4 <= hi; o += 4)                  // tiles of 4 weight rows x 4 input rows, as for bf16
            {
                var rows = w + (long)o * n;
                int r = 0;
                for (; r + 4 <= m; r += 4) WideTiles.F32(rows, x + (long)r * n, n, y + (long)r * outRows + o, outRows);
                for (; r < m; r++)
                    for (int j = 0; j < 4; j++) y[(long)r * outRows + o + j] = DotF32(rows + (long)j * n, x + (long)r * n, n);
            }
        for (; o < hi; o++)
        {
            var row = w + (long)o * n;
            for (int r = 0; r < m; r++) y[(long)r * outRows + o] = DotF32(row, x + (long)r * n, n);
        }
    }

    /// <summary>dot(w, x) for a bf16 row and a float32 row; 512-bit vectors where the CPU has them.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // hot from the first token: no tier-0 code
    static float DotBf16(ushort* w, float* x, int n)
    {
        int i = 0;
        float sum = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            Vector512<float> lo = default, hi = default;
            for (; i + 32 <= n; i += 32)
            {
                var (a, b) = Vector512.Widen(Vector512.Load(w + i));                 // 32 bf16 -> 2 x 16 uint32
                lo = Vector512.FusedMultiplyAdd(Vector512.ShiftLeft(a, 16).AsSingle(), Vector512.Load(x + i), lo);
                hi = Vector512.FusedMultiplyAdd(Vector512.ShiftLeft(b, 16).AsSingle(), Vector512.Load(x + i + 16), hi);
            }
            sum = Vector512.Sum(lo + hi);
        }
        else
        {
            Vector256<float> lo = default, hi = default;
            for (; i + 16 <= n; i += 16)
            {
                var (a, b) = Vector256.Widen(Vector256.Load(w + i));                 // 16 bf16 -> 2 x 8 uint32
                lo = Vector256.FusedMultiplyAdd(Vector256.ShiftLeft(a, 16).AsSingle(), Vector256.Load(x + i), lo);
                hi = Vector256.FusedMultiplyAdd(Vector256.ShiftLeft(b, 16).AsSingle(), Vector256.Load(x + i + 8), hi);
            }
            sum = Vector256.Sum(lo + hi);
        }
        for (; i < n; i++) sum += BitConverter.UInt32BitsToSingle((uint)w[i] << 16) * x[i];
        return sum;
    }

    /// <summary>y[r * stride] = dot(w, x row r) for four float32 rows of x; each chunk of w is widened once.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // hot from the first token: no tier-0 code
    static void Dot4Bf16(ushort* w, float* x, int n, float* y, int stride)
    {
        Vector256<float> s0 = default, s1 = default, s2 = default, s3 = default;
        int i = 0;
        for (; i + 8 <= n; i += 8)
        {
            var wv = Vector256.ShiftLeft(Vector256.WidenLower(Vector128.Load(w + i).ToVector256Unsafe()), 16).AsSingle();
            s0 = Vector256.FusedMultiplyAdd(wv, Vector256.Load(x + i), s0);
            s1 = Vector256.FusedMultiplyAdd(wv, Vector256.Load(x + n + i), s1);
            s2 = Vector256.FusedMultiplyAdd(wv, Vector256.Load(x + 2L * n + i), s2);
            s3 = Vector256.FusedMultiplyAdd(wv, Vector256.Load(x + 3L * n + i), s3);
        }
        float t0 = Vector256.Sum(s0), t1 = Vector256.Sum(s1), t2 = Vector256.Sum(s2), t3 = Vector256.Sum(s3);
        for (; i < n; i++)
        {
            float wi = BitConverter.UInt32BitsToSingle((uint)w[i] << 16);
            t0 += wi * x[i]; t1 += wi * x[n + i]; t2 += wi * x[2L * n + i]; t3 += wi * x[3L * n + i];
        }
        y[0] = t0; y[stride] = t1; y[2L * stride] = t2; y[3L * stride] = t3;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // hot from the first token: no tier-0 code
    static float DotF32(float* w, float* x, int n)
    {
        int i = 0;
        Vector256<float> lo = default, hi = default;
        for (; i + 16 <= n; i += 16)
        {
            lo = Vector256.FusedMultiplyAdd(Vector256.Load(w + i), Vector256.Load(x + i), lo);
            hi = Vector256.FusedMultiplyAdd(Vector256.Load(w + i + 8), Vector256.Load(x + i + 8), hi);
        }
        float sum = Vector256.Sum(lo + hi);
        for (; i < n; i++) sum += w[i] * x[i];
        return sum;
    }

    /// <summary>float32 -> bf16 with round-to-nearest-even, as libtorch rounds; NaN stays NaN.</summary>
    public static ushort ToBf16(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value)) return (ushort)((bits >> 16) | 0x40);
        bits += 0x7FFF + ((bits >> 16) & 1);
        return (ushort)(bits >> 16);
    }
}
