using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Gmsa.Engine.Generation;
using TorchSharp;
using static TorchSharp.torch;

namespace Gmsa.Engine.Model;

// Legend: B rows, D hidden, H query heads, Hkv key/value heads, Dh head dim, I intermediate, V vocab, S cached + new positions.

/// <summary>
/// One new token per row through the whole model on CPU, written the way llama2.c writes its forward: float32 activations
/// in buffers reused from step to step, vector loops for the norms, RoPE and attention (<see cref="DecodeAttention"/>), and
/// the projections through <see cref="SmallBatchLinear"/> (or, for more than <see cref="KernelRows"/> rows, libtorch's GEMM). Keys and values are
/// read and appended in place in the <see cref="KvCache"/> that the libtorch prefill filled, so the two paths share one
/// cache. Why: a decode step of a small model is ~60 tiny libtorch ops a layer, and their dispatch, allocation and
/// dispose-scope costs (not the arithmetic) set the token rate. The math is the libtorch path's
/// (<see cref="DecoderLayer.forward"/>) exactly; tests hold the two to the same logits and greedy tokens.
/// </summary>
public sealed unsafe class CpuDecodeStep
{
    readonly CausalLM model;
    readonly ModelConfig c;
    readonly float[] invFreq;
    float[] x = [], xb = [], q = [], k = [], v = [], att = [], gate = [], up = [], logits = [], scores = [];
    int[] positions = [], rowSlot = [], rowPast = [];   // per row: RoPE position, cache row (slot), cached positions before its new one
    long[] mask = [];
    float[] cosTable = [], sinTable = [];
    int rows;

    public CpuDecodeStep(CausalLM model)
    {
        this.model = model;
        c = model.Config;
        invFreq = model.Model.Rotary.InverseFrequencies.ToArray();
    }

    /// <summary>Off sends every decode step to libtorch: the "before" of `gmsa bench decode`.</summary>
    public static bool Enabled { get; set; } = true;

    /// <summary>
    /// Rows above which a step goes to libtorch's forward instead. Up to <see cref="KernelRows"/> rows the projections
    /// stream through the kernel, above it through libtorch's GEMM; `gmsa bench decode` measures this step against the
    /// libtorch forward at 1-16 rows (on the 2-core development machine the step was ahead at every one, ~2x at 16).
    /// </summary>
    public static int MaxRows { get; set; } = 64;

    /// <summary>
    /// True when this step can run the model as it is now: CPU, float32 or bf16, token embeddings present, and every
    /// projection a single weight (no unmerged adapter switched on).
    /// </summary>
    public bool Supports(int batch, KvCache cache) => cache.Length > 0 && Supports(batch);

    /// <summary>True when this step can run <paramref name="batch"/> rows of the model as it is now (any cache).</summary>
    public bool Supports(int batch) =>
        Enabled && batch <= MaxRows && model.Device.type == DeviceType.CPU && !is_grad_enabled()
        && (model.DType == ScalarType.Float32 || model.DType == ScalarType.BFloat16) && model.Model.HasEmbeddings
        && Projections().All(p => p.InferenceWeight is { } w && w.is_contiguous() && w.dtype == model.DType);

    IEnumerable<LoraLinear> Projections()
    {
        foreach (var layer in model.Model.DecoderLayers)
        {
            var a = layer.SelfAttn;
            var f = layer.FeedForward;
            yield return a.QProj; yield return a.KProj; yield return a.VProj; yield return a.OProj;
            yield return f.GateProj; yield return f.UpProj; yield return f.DownProj;
        }
        if (model.LmHeadProjection is { } head) yield return head;
    }

    /// <summary>
    /// Logits [B, V] (float32) for one new token per row, appended to <paramref name="cache"/> (which then advances by one).
    /// <paramref name="paddingMask"/> [B, S] marks real positions (1) and left padding (0), the new token's included; null
    /// means no padding. Call <see cref="Supports"/> first.
    /// </summary>
    public Tensor Forward(ReadOnlySpan<long> tokens, Tensor? paddingMask, KvCache cache)
    {
        int b = tokens.Length, past = (int)cache.Length, total = past + 1;
        Allocate(b, total);
        Positions(paddingMask, b, total);
        for (int r = 0; r < b; r++) (rowSlot[r], rowPast[r]) = (r, past);   // row r of the cache; every row writes column `past`
        var logits = Run(tokens, total, layer => cache.Reserve(layer, total)
            ?? throw new InvalidOperationException("the cache has no entries for this layer: prefill first"), paddingMask is not null);
        cache.Advance(1);
        return logits;
    }

    /// <summary>
    /// Logits [B, V] (float32) for one new token per row, row r being the sequence in slot <paramref name="slots"/>[r] of
    /// <paramref name="cache"/>, each at its own length (no padding); those slots then advance by one. Call
    /// <see cref="Supports(int)"/> first.
    /// </summary>
    public Tensor Forward(ReadOnlySpan<long> tokens, ReadOnlySpan<int> slots, RowSlotCache cache)
    {
        if (slots.Length != tokens.Length) throw new ArgumentException($"{tokens.Length} tokens for {slots.Length} slots", nameof(slots));
        int b = tokens.Length, total = 0;
        for (int r = 0; r < b; r++) total = Math.Max(total, (int)cache.Length(slots[r]) + 1);
        Allocate(b, total);
        for (int r = 0; r < b; r++)
        {
            (rowSlot[r], rowPast[r]) = (slots[r], (int)cache.Length(slots[r]));
            positions[r] = rowPast[r];                                        // a slot holds real positions only
        }
        var logits = Run(tokens, total, layer => cache.Reserve(layer, total), masked: false);
        cache.Advance(slots);
        return logits;
    }

    /// <summary>The step for rows already described by positions, rowSlot and rowPast; <paramref name="total"/> is the longest row's past + 1.</summary>
    Tensor Run(ReadOnlySpan<long> tokens, int total, Func<int, (Tensor Keys, Tensor Values)> layerCache, bool masked)
    {
        int b = tokens.Length;
        Angles(b);
        bool bf16 = model.DType == ScalarType.BFloat16;
        int d = c.HiddenSize;
        var embed = model.Model.EmbedTokens.weight!;
        for (int r = 0; r < b; r++)
        {
            // The row is read through a pointer: an id past the table would read foreign memory, not throw.
            if ((ulong)tokens[r] >= (ulong)c.VocabSize) throw new ArgumentOutOfRangeException(nameof(tokens), $"token id {tokens[r]} is outside the vocabulary of {c.VocabSize}");
            Widen(Row(embed, tokens[r], d, bf16), x.AsSpan(r * d, d), bf16);
        }

        int layerIndex = 0;
        foreach (var layer in model.Model.DecoderLayers)
        {
            var a = layer.SelfAttn;
            var f = layer.FeedForward;
            RmsNorm(x, xb, layer.InputLayernorm, b);
            Project(xb, b, d, bf16, a.Qkv, (a.QProj, q), (a.KProj, k), (a.VProj, v));
            var (keys, values) = layerCache(layerIndex);
            Attend(a, keys, values, b, total, bf16, masked);
            Project(att, b, c.NumAttentionHeads * c.HeadDim, bf16, null, (a.OProj, xb));
            Add(x, xb, b * d);                                                           // x += attention
            RmsNorm(x, xb, layer.PostAttentionLayernorm, b);
            Project(xb, b, d, bf16, f.GateUp, (f.GateProj, gate), (f.UpProj, up));
            SiluTimes(gate, up, b * c.IntermediateSize);
            Project(gate, b, c.IntermediateSize, bf16, null, (f.DownProj, xb));
            Add(x, xb, b * d);                                                           // x += feed-forward
            layerIndex++;
        }
        RmsNorm(x, xb, model.Model.Norm, b);
        Multiply(xb, b, d, bf16, [(model.LmHeadProjection?.InferenceWeight ?? embed, null, logits)]);
        var result = empty([b, c.VocabSize], ScalarType.Float32);
        logits.AsSpan(0, b * c.VocabSize).CopyTo(MemoryMarshal.Cast<byte, float>(result.bytes));
        return result;
    }

    void Allocate(int b, int total)
    {
        if (b > rows || scores.Length < total)
        {
            rows = Math.Max(b, rows);
            int qDim = c.NumAttentionHeads * c.HeadDim, kvDim = c.NumKeyValueHeads * c.HeadDim;
            x = Pinned(rows * c.HiddenSize); xb = Pinned(rows * c.HiddenSize);
            q = Pinned(rows * qDim); att = Pinned(rows * qDim); k = Pinned(rows * kvDim); v = Pinned(rows * kvDim);
            gate = Pinned(rows * c.IntermediateSize); up = Pinned(rows * c.IntermediateSize);
            logits = Pinned(rows * c.VocabSize);
            scores = Pinned(Math.Max(2 * total, 1024));
            positions = new int[rows];
            rowSlot = new int[rows];
            rowPast = new int[rows];
        }
    }

    static float[] Pinned(int n) => GC.AllocateUninitializedArray<float>(n, pinned: true);

    /// <summary>Each row's position id: its real tokens before the new one (left padding is not counted).</summary>
    void Positions(Tensor? paddingMask, int b, int total)
    {
        if (paddingMask is null) { Array.Fill(positions, total - 1, 0, b); return; }
        if (mask.Length < b * total) mask = new long[Math.Max(b * total, 2 * mask.Length)];
        MemoryMarshal.Cast<byte, long>(paddingMask.to(ScalarType.Int64).contiguous().bytes).CopyTo(mask);
        for (int r = 0; r < b; r++)
        {
            long count = 0;
            var row = mask.AsSpan(r * total, total);
            foreach (var m in row) count += m;
            positions[r] = (int)Math.Max(0, count - 1);
        }
    }

    static nint Row(Tensor weight, long index, int width, bool bf16) =>
        SmallBatchLinear.Address(weight) + (nint)(index * width * (bf16 ? 2 : 4));

    static void Widen(nint source, Span<float> into, bool bf16)
    {
        if (!bf16) { new ReadOnlySpan<float>((void*)source, into.Length).CopyTo(into); return; }
        var raw = new ReadOnlySpan<ushort>((void*)source, into.Length);
        for (int i = 0; i < into.Length; i++) into[i] = BitConverter.UInt32BitsToSingle((uint)raw[i] << 16);
    }

    /// <summary>
    /// output = input W^T (+ bias) for each projection. Up to <see cref="KernelRows"/> rows the weights stream through
    /// <see cref="SmallBatchLinear"/> (4 x 4 tiles of <see cref="WideTiles"/> from 4 rows). Above, the rows make a round
    /// trip through a tensor in the model's dtype to libtorch's GEMM, and projections of one <paramref name="fused"/>
    /// buffer go as one matmul.
    /// </summary>
    void Project(float[] input, int b, int inFeatures, bool bf16, FusedProjections? fused, params (LoraLinear Projection, float[] Output)[] targets)
    {
        if (b <= KernelRows)
        {
            Multiply(input, b, inFeatures, bf16, targets.Select(t => (t.Projection.InferenceWeight!, (Tensor?)t.Projection.Bias, t.Output)).ToArray());
            return;
        }
        using var scope = NewDisposeScope();
        var x = empty([b, inFeatures], model.DType);
        SmallBatchLinear.FromFloat(input.AsSpan(0, b * inFeatures), x);
        var outputs = fused is { Usable: true } ? fused.Forward(x)
            : targets.Select(t => nn.functional.linear(x, t.Projection.InferenceWeight!, t.Projection.Bias)).ToArray();
        for (int i = 0; i < targets.Length; i++)
            MemoryMarshal.Cast<byte, float>(outputs[i].to(ScalarType.Float32).contiguous().bytes).CopyTo(targets[i].Output);   // [B, O_i]
    }

    /// <summary>
    /// Rows up to which projections stream through the kernel, above it libtorch's GEMM. 16: with <see cref="WideTiles"/>
    /// the kernel's 16-row step was ~1.7x the one through libtorch's GEMM in bf16 and ~2.5x in float32 (2026-12-04).
    /// </summary>
    public static int KernelRows { get; set; } = 16;

    /// <summary>output = input W^T (+ bias) for each target, the weights streamed once through <see cref="SmallBatchLinear"/>.</summary>
    void Multiply(float[] input, int b, int inFeatures, bool bf16, (Tensor Weight, Tensor? Bias, float[] Output)[] targets)
    {
        if (b > KernelRows)
        {
            using var scope = NewDisposeScope();
            var x = empty([b, inFeatures], model.DType);
            SmallBatchLinear.FromFloat(input.AsSpan(0, b * inFeatures), x);
            foreach (var (weight, bias, output) in targets)
                MemoryMarshal.Cast<byte, float>(nn.functional.linear(x, weight, bias).to(ScalarType.Float32).contiguous().bytes).CopyTo(output);
            return;
        }
        var jobs = new SmallBatchLinear.Projection[targets.Length];
        fixed (float* xp = input)
        {
            for (int i = 0; i < targets.Length; i++)
                jobs[i] = new(SmallBatchLinear.Address(targets[i].Weight), (int)targets[i].Weight.shape[0], (nint)AddressOf(targets[i].Output));
            SmallBatchLinear.Multiply(xp, b, inFeatures, jobs, bf16);
        }
        for (int i = 0; i < targets.Length; i++)
            if (targets[i].Bias is { } bias)
                for (int r = 0; r < b; r++)
                    AddRow(targets[i].Output.AsSpan(r * jobs[i].Rows, jobs[i].Rows), bias, bf16);
    }

    // The activation buffers are pinned at allocation, so their address is stable.
    static float* AddressOf(float[] pinned) => (float*)System.Runtime.CompilerServices.Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(pinned));

    static void AddRow(Span<float> into, Tensor vector, bool bf16)
    {
        Span<float> values = stackalloc float[into.Length];
        Widen(SmallBatchLinear.Address(vector), values, bf16);
        for (int i = 0; i < into.Length; i++) into[i] += values[i];
    }

    /// <summary>out = x / sqrt(mean(x^2) + eps) * weight, row by row (statistics in float32, as the libtorch path).</summary>
    static void RmsNorm(float[] input, float[] output, RmsNorm norm, int b)
    {
        int d = (int)norm.Weight.shape[0];
        Span<float> weight = stackalloc float[d];
        Widen(SmallBatchLinear.Address(norm.Weight), weight, norm.Weight.dtype == ScalarType.BFloat16);
        for (int r = 0; r < b; r++) NormalizeRow(input.AsSpan(r * d, d), output.AsSpan(r * d, d), weight, norm.Eps);
    }

    static void NormalizeRow(ReadOnlySpan<float> x, Span<float> y, ReadOnlySpan<float> weight, double eps)
    {
        float inverse = (float)(1.0 / Math.Sqrt(TensorPrimitives.SumOfSquares(x) / x.Length + eps));
        TensorPrimitives.Multiply(x, inverse, y);
        TensorPrimitives.Multiply(y, weight, y);
    }

    /// <summary>
    /// Per row: q/k norms (Qwen3), RoPE at the row's position, the new key and value written at position
    /// <paramref name="past"/> of the cache, then each query head's softmax attention over the row's real positions.
    /// </summary>
    void Attend(Attention a, Tensor keys, Tensor values, int b, int total, bool bf16, bool masked)
    {
        int h = c.NumAttentionHeads, hkv = c.NumKeyValueHeads, dh = c.HeadDim, groups = h / hkv;
        long capacity = keys.shape[2];
        int elementBytes = bf16 ? 2 : 4;
        nint keyBase = SmallBatchLinear.Address(keys), valueBase = SmallBatchLinear.Address(values);
        Span<float> qNorm = stackalloc float[a.QNorm is null ? 0 : dh], kNorm = stackalloc float[a.KNorm is null ? 0 : dh];
        if (a.QNorm is { } qn) Widen(SmallBatchLinear.Address(qn.Weight), qNorm, bf16);
        if (a.KNorm is { } kn) Widen(SmallBatchLinear.Address(kn.Weight), kNorm, bf16);
        for (int r = 0; r < b; r++)
        {
            for (int head = 0; head < h; head++)
            {
                var qh = q.AsSpan((r * h + head) * dh, dh);
                if (a.QNorm is { } n) NormalizeRow(qh, qh, qNorm, n.Eps);
                Rotate(qh, r);
            }
            for (int g = 0; g < hkv; g++)
            {
                var kh = k.AsSpan((r * hkv + g) * dh, dh);
                if (a.KNorm is { } n) NormalizeRow(kh, kh, kNorm, n.Eps);
                Rotate(kh, r);
                long cell = ((long)(rowSlot[r] * hkv + g) * capacity + rowPast[r]) * dh * elementBytes;
                Narrow(kh, keyBase + (nint)cell, bf16);
                Narrow(v.AsSpan((r * hkv + g) * dh, dh), valueBase + (nint)cell, bf16);
            }
        }
        // Heads are independent: split (row, head) pairs over the cores once the context makes them worth it.
        int pairs = b * h, parts = KernelWorkers.Parts(SmallBatchLinear.Threads, (int)((long)pairs * total * dh / 32768));
        // Not beside libtorch's GEMMs (more than KernelRows rows): unless OMP_WAIT_POLICY is PASSIVE (OpenMpWaitPolicy),
        // its OpenMP threads spin after each one, and a second spinning team on the same cores would fight them.
        parts = b > KernelRows ? 1 : Math.Min(parts, pairs);
        if (scores.Length < parts * total) scores = Pinned(parts * total * 2);
        void Part(int part)
        {
            fixed (float* sp = &scores[part * total])
                for (int pair = pairs * part / parts; pair < pairs * (part + 1) / parts; pair++)
                {
                    int r = pair / h, head = pair % h, g = head / groups, rowTotal = rowPast[r] + 1;
                    long rowsAt = (long)(rowSlot[r] * hkv + g) * capacity * dh * elementBytes;
                    fixed (float* qp = &q[pair * dh], op = &att[pair * dh])
                        DecodeAttention.Head(qp, keyBase + (nint)rowsAt, valueBase + (nint)rowsAt, op, new Span<float>(sp, rowTotal), dh, rowTotal, bf16,
                            masked ? mask.AsSpan(r * total, rowTotal) : default);
                }
        }
        if (parts == 1) Part(0);
        else KernelWorkers.For(SmallBatchLinear.Threads).Run(parts, Part);
    }

    static void Narrow(ReadOnlySpan<float> values, nint into, bool bf16)
    {
        if (!bf16) { values.CopyTo(new Span<float>((void*)into, values.Length)); return; }
        var raw = new Span<ushort>((void*)into, values.Length);
        for (int i = 0; i < values.Length; i++) raw[i] = SmallBatchLinear.ToBf16(values[i]);
    }

    /// <summary>Rotate-half RoPE: (x1, x2) -> (x1 cos - x2 sin, x2 cos + x1 sin), with the row's cos/sin of this step.</summary>
    void Rotate(Span<float> head, int row)
    {
        int half = head.Length / 2;
        var cos = cosTable.AsSpan(row * half, half);
        var sin = sinTable.AsSpan(row * half, half);
        for (int i = 0; i < half; i++)
        {
            float x1 = head[i], x2 = head[i + half];
            head[i] = x1 * cos[i] - x2 * sin[i];
            head[i + half] = x2 * cos[i] + x1 * sin[i];
        }
    }

    /// <summary>cos and sin of position x inverse frequency for each row, once a step for all layers (float32 angles, as libtorch).</summary>
    void Angles(int b)
    {
        int half = invFreq.Length;
        if (cosTable.Length < b * half) { cosTable = new float[rows * half]; sinTable = new float[rows * half]; }
        for (int r = 0; r < b; r++)
            for (int i = 0; i < half; i++)
            {
                float angle = positions[r] * invFreq[i];
                cosTable[r * half + i] = MathF.Cos(angle);
                sinTable[r * half + i] = MathF.Sin(angle);
            }
    }

    static void Add(float[] into, float[] values, int n) => TensorPrimitives.Add(into.AsSpan(0, n), values.AsSpan(0, n), into.AsSpan(0, n));

    /// <summary>gate = silu(gate) * up = gate * sigmoid(gate) * up, in vector passes over chunks that stay in L1.</summary>
    static void SiluTimes(float[] gate, float[] up, int n)
    {
        Span<float> sigmoid = stackalloc float[1024];
        for (int at = 0; at < n; at += sigmoid.Length)
        {
            int len = Math.Min(sigmoid.Length, n - at);
            Span<float> g = gate.AsSpan(at, len), s = sigmoid[..len];
            TensorPrimitives.Sigmoid(g, s);
            TensorPrimitives.Multiply(g, s, g);
            TensorPrimitives.Multiply(g, up.AsSpan(at, len), g);
        }
    }
}
