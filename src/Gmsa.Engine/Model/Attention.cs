using Gmsa.Engine.Generation;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Gmsa.Engine.Model;

// Legend: B batch, T new tokens, S cached + new tokens, D hidden, H query heads, Hkv key/value heads, Dh head dim.

/// <summary>
/// Grouped-query self-attention with RoPE, optional q/k/v bias (Qwen2) and per-head q/k RMSNorm (Qwen3).
/// </summary>
public sealed class Attention : nn.Module
{
    readonly LoraLinear q_proj; // D -> H*Dh
    readonly LoraLinear k_proj; // D -> Hkv*Dh
    readonly LoraLinear v_proj; // D -> Hkv*Dh
    readonly LoraLinear o_proj; // H*Dh -> D
    readonly RmsNorm? q_norm; // [Dh], Qwen3 only
    readonly RmsNorm? k_norm; // [Dh], Qwen3 only
    readonly int layerIndex, numHeads, numKvHeads, headDim;
    readonly FusedProjections qkv; // q/k/v weights as row blocks of one buffer: one matmul at inference

    public Attention(ModelConfig config, int layerIndex, ScalarType dtype, Device? device) : base(nameof(Attention))
    {
        this.layerIndex = layerIndex;
        numHeads = config.NumAttentionHeads;
        numKvHeads = config.NumKeyValueHeads;
        headDim = config.HeadDim;
        qkv = new FusedProjections(config.HiddenSize, [numHeads * headDim, numKvHeads * headDim, numKvHeads * headDim],
            config.AttentionBias, dtype, device);
        (q_proj, k_proj, v_proj) = (qkv.Projections[0], qkv.Projections[1], qkv.Projections[2]);
        o_proj = Layers.Linear(numHeads * headDim, config.HiddenSize, false, dtype, device);
        if (config.QkNorm)
        {
            q_norm = new RmsNorm(headDim, config.RmsNormEps, dtype, device);
            k_norm = new RmsNorm(headDim, config.RmsNormEps, dtype, device);
        }
        RegisterComponents();
    }

    internal FusedProjections Qkv => qkv;

    protected override void Dispose(bool disposing)
    {
        if (disposing) qkv.Dispose();
        base.Dispose(disposing);
    }
    internal LoraLinear QProj => q_proj;
    internal LoraLinear KProj => k_proj;
    internal LoraLinear VProj => v_proj;
    internal LoraLinear OProj => o_proj;
    internal RmsNorm? QNorm => q_norm;
    internal RmsNorm? KNorm => k_norm;

    /// <param name="x">[B, T, D]</param>
    /// <param name="cos">[B, 1, T, Dh]</param>
    /// <param name="sin">[B, 1, T, Dh]</param>
    /// <param name="mask">[B, 1, T, S] bool (true = attend), or null for plain causal attention</param>
    /// <param name="packed">several sequences packed in one row (B = 1): each segment attends within itself and its own
    /// cache, as alone (<paramref name="mask"/> and <paramref name="cache"/> are then null)</param>
    public Tensor forward(Tensor x, Tensor cos, Tensor sin, Tensor? mask, KvCache? cache, PackedLayout? packed = null)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], t = x.shape[1];
        var projected = is_grad_enabled() ? [q_proj.forward(x), k_proj.forward(x), v_proj.forward(x)] : qkv.Forward(x);
        var q = projected[0].reshape(b, t, numHeads, headDim);     // [B, T, H, Dh]
        var k = projected[1].reshape(b, t, numKvHeads, headDim);   // [B, T, Hkv, Dh]
        var v = projected[2].reshape(b, t, numKvHeads, headDim);   // [B, T, Hkv, Dh]
        if (q_norm is not null && k_norm is not null)
        {
            q = q_norm.forward(q);
            k = k_norm.forward(k);
        }
        q = RotaryEmbedding.Apply(q.transpose(1, 2), cos, sin);    // [B, H, T, Dh]
        k = RotaryEmbedding.Apply(k.transpose(1, 2), cos, sin);    // [B, Hkv, T, Dh]
        v = v.transpose(1, 2);                                     // [B, Hkv, T, Dh]
        var output = packed is null ? Attend(q, k, v, mask, cache) : AttendPacked(q, k, v, packed); // [B, H, T, Dh]
        var merged = output.transpose(1, 2).reshape(b, t, numHeads * headDim);      // [B, T, H*Dh]
        return o_proj.forward(merged).MoveToOuterDisposeScope();                    // [B, T, D]
    }

    /// <summary>
    /// Attention of new positions q [B, H, T, Dh] over the cached keys and values plus k, v [B, Hkv, T, Dh] (appended to
    /// <paramref name="cache"/> first) -> [B, H, T, Dh].
    /// </summary>
    Tensor Attend(Tensor q, Tensor k, Tensor v, Tensor? mask, KvCache? cache)
    {
        long b = q.shape[0], t = q.shape[2];
        if (cache is not null) (k, v) = cache.Update(layerIndex, k, v); // [B, Hkv, S, Dh]

        int groups = numHeads / numKvHeads;
        if (t == 1 && groups > 1)
        {
            // Decode: fold each group's query heads into the query axis instead of copying k/v
            // `groups` times; one query row attends to every cached key, so no causal mask is needed.
            var qg = q.reshape(b, numKvHeads, groups, headDim);                      // [B, Hkv, groups, Dh]
            var og = nn.functional.scaled_dot_product_attention(qg, k, v, mask);     // [B, Hkv, groups, Dh]
            return og.reshape(b, numHeads, 1, headDim);                              // [B, H, 1, Dh]
        }
        if (groups > 1)
        {
            k = k.repeat_interleave(groups, dim: 1);                                 // [B, H, S, Dh]
            v = v.repeat_interleave(groups, dim: 1);                                 // [B, H, S, Dh]
        }
        return mask is not null ? nn.functional.scaled_dot_product_attention(q, k, v, mask) // [B, H, T, Dh]
            : t > CausalBlock && b * numHeads >= BlockCausalMinRows && cache is null && !is_grad_enabled() ? BlockCausalAttention(q, k, v) // inference prefill
            : nn.functional.scaled_dot_product_attention(q, k, v, is_casual: t > 1);
    }

    /// <summary>
    /// Each packed segment's rows attend through <see cref="Attend"/> with its own cache and mask, the very call a forward
    /// over that sequence alone makes; padding rows after the last segment get zeros. [1, H, N, Dh] in and out.
    /// </summary>
    Tensor AttendPacked(Tensor q, Tensor k, Tensor v, PackedLayout packed)
    {
        var parts = new List<Tensor>(packed.Segments.Count + 1);
        for (int i = 0; i < packed.Segments.Count; i++)
        {
            var s = packed.Segments[i];
            parts.Add(Attend(q.narrow(2, s.Offset, s.Length), k.narrow(2, s.Offset, s.Length), v.narrow(2, s.Offset, s.Length),
                packed.Masks[i], s.Cache));
        }
        if (packed.PaddingRows > 0) parts.Add(zeros(1, numHeads, packed.PaddingRows, headDim, q.dtype, q.device));
        return cat(parts, dim: 2);
    }

    const int CausalBlock = 32;

    /// <summary>
    /// Batch x heads below which libtorch's causal kernel wins: with few (row, head) pairs its own split over queries
    /// keeps both cores busy, the blocks' small calls do not (bf16, 2 cores: 6 pairs x 1,023 tokens 1.17-1.44x slower in
    /// blocks, 12 pairs even, 18 and up 0.71-0.99x).
    /// </summary>
    const int BlockCausalMinRows = 16;

    /// <summary>
    /// Causal attention over a whole sequence, CausalBlock queries at a time, each block attending only to
    /// the keys up to its last position: about half the score work of one full-square call (the part
    /// above the diagonal is never computed) and measured faster than libtorch's causal CPU kernel here.
    /// </summary>
    static Tensor BlockCausalAttention(Tensor q, Tensor k, Tensor v) // [B, H, T, Dh] each -> [B, H, T, Dh]
    {
        using var scope = NewDisposeScope();
        long t = q.shape[2];
        var blocks = new List<Tensor>();
        for (long start = 0; start < t; start += CausalBlock)
        {
            long len = Math.Min(CausalBlock, t - start), keys = start + len;
            // Query start+i sees keys 0..start+i: a lower triangle shifted right by `start`.
            var mask = ones(len, keys, ScalarType.Bool, q.device).tril(start);                     // [len, keys]
            blocks.Add(nn.functional.scaled_dot_product_attention(
                q.narrow(2, start, len), k.narrow(2, 0, keys), v.narrow(2, 0, keys), mask));      // [B, H, len, Dh]
        }
        return cat(blocks, dim: 2).MoveToOuterDisposeScope();
    }
}
