using Gmsa.Engine.Generation;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Gmsa.Engine.Model;

// Legend: B batch, T new tokens, P cached tokens, D hidden, V vocab.

/// <summary>The transformer trunk: embed_tokens, layers, final norm (checkpoint prefix "model.").</summary>
public sealed class DecoderModel : nn.Module
{
    readonly Embedding? embed_tokens; // [V, D]; absent in a stack that only ever reads embeddings (GMSA's alignment layers)
    readonly ModuleList<DecoderLayer> layers;
    readonly RmsNorm norm;
    readonly RotaryEmbedding rotary;

    public DecoderModel(ModelConfig config, ScalarType dtype, Device? device, bool withEmbeddings = true) : base(nameof(DecoderModel))
    {
        Config = config;
        if (withEmbeddings) embed_tokens = Layers.Embedding(config.VocabSize, config.HiddenSize, dtype, device);
        layers = new ModuleList<DecoderLayer>(
            Enumerable.Range(0, config.NumHiddenLayers).Select(i => new DecoderLayer(config, i, dtype, device)).ToArray());
        norm = new RmsNorm(config.HiddenSize, config.RmsNormEps, dtype, device);
        rotary = new RotaryEmbedding(config);
        RegisterComponents();
    }

    public ModelConfig Config { get; }

    public Embedding EmbedTokens => embed_tokens ?? throw new InvalidOperationException("this stack has no embed_tokens: pass inputsEmbeds");

    public int LayerCount => layers.Count;

    /// <summary>Recompute each block in backward instead of keeping its activations (training only; see <see cref="ActivationCheckpoint"/>).</summary>
    public bool ActivationCheckpointing { get; set; }

    internal IList<DecoderLayer> DecoderLayers => layers;
    internal RmsNorm Norm => norm;
    internal RotaryEmbedding Rotary => rotary;
    internal bool HasEmbeddings => embed_tokens is not null;

    /// <summary>
    /// Runs the trunk. Exactly one of <paramref name="inputIds"/> [B, T] and <paramref name="inputsEmbeds"/>
    /// [B, T, D] is given; the embeddings path is how soft tokens enter. <paramref name="attentionMask"/>
    /// [B, P+T] marks real tokens (1) and left padding (0). Returns the normed last hidden states [B, T, D].
    /// </summary>
    public Tensor forward(Tensor? inputIds = null, Tensor? inputsEmbeds = null, Tensor? attentionMask = null,
        Tensor? positionIds = null, KvCache? cache = null)
    {
        if ((inputIds is null) == (inputsEmbeds is null))
            throw new ArgumentException("pass exactly one of inputIds and inputsEmbeds");
        using var scope = NewDisposeScope();
        var x = inputsEmbeds ?? EmbedTokens.forward(inputIds!);                   // [B, T, D]
        if (x.dim() != 3 || x.shape[2] != Config.HiddenSize)
            throw new ArgumentException($"inputs must be [B, T, {Config.HiddenSize}], got [{string.Join(", ", x.shape)}]");
        long b = x.shape[0], t = x.shape[1], past = cache?.Length ?? 0;
        if (attentionMask is not null && (attentionMask.shape[0] != b || attentionMask.shape[1] != past + t))
            throw new ArgumentException($"attentionMask must be [{b}, {past + t}] (cached + new tokens), got [{string.Join(", ", attentionMask.shape)}]");

        positionIds ??= AttentionMask.PositionIds(attentionMask, b, past, t, x.device);   // [B, T]
        var mask = AttentionMask.Build(attentionMask, past, t, x.device);                 // [B, 1, T, P+T] or null
        var (cos, sin) = rotary.Compute(positionIds, x.dtype);                            // [B, 1, T, Dh]
        bool recompute = ActivationCheckpointing && cache is null && is_grad_enabled();
        foreach (var layer in layers)
            x = recompute ? ActivationCheckpoint.Forward(layer, x, cos, sin, mask) : layer.forward(x, cos, sin, mask, cache);
        cache?.Advance(t);
        return norm.forward(x).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// A forward over several sequences packed end to end in one row: x [1, N, D] holds each segment's new positions at
    /// its offset, in order and without gaps, padding rows after the last one. Projections, norms and MLPs run once over
    /// all N rows; attention runs per segment over its own cache, by the call a forward over that sequence alone makes.
    /// Each cache advances by its segment. Returns the normed last hidden states [1, N, D].
    /// </summary>
    internal Tensor ForwardPacked(Tensor x, IReadOnlyList<PackedSegment> segments)
    {
        using var scope = NewDisposeScope();
        long n = x.shape[1];
        int used = segments.Count == 0 ? 0 : segments[^1].Offset + segments[^1].Length;
        // Each segment's positions as its forward alone numbers them; the padding rows' are zeros.
        var positions = segments.Select(s => AttentionMask.PositionIds(null, 1, s.Cache.Length, s.Length, x.device)).ToList();
        if (n > used) positions.Add(zeros(1, n - used, ScalarType.Int64, x.device));
        var (cos, sin) = rotary.Compute(cat(positions, dim: 1), x.dtype);                                 // [1, 1, N, Dh]
        var masks = segments.Select(s => AttentionMask.Build(null, s.Cache.Length, s.Length, x.device)).ToArray();
        var layout = new PackedLayout(segments, masks, (int)n - used);
        foreach (var layer in layers) x = layer.forward(x, cos, sin, null, null, layout);
        foreach (var s in segments) s.Cache.Advance(s.Length);
        return norm.forward(x).MoveToOuterDisposeScope();
    }
}
