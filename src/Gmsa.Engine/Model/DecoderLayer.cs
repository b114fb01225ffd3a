using Gmsa.Engine.Generation;
using TorchSharp;
using static TorchSharp.torch;

namespace Gmsa.Engine.Model;

/// <summary>Pre-norm transformer block: x + attn(norm(x)), then h + mlp(norm(h)).</summary>
public sealed class DecoderLayer : nn.Module
{
    readonly RmsNorm input_layernorm;
    readonly Attention self_attn;
    readonly RmsNorm post_attention_layernorm;
    readonly Mlp mlp;

    public DecoderLayer(ModelConfig config, int layerIndex, ScalarType dtype, Device? device) : base(nameof(DecoderLayer))
    {
        input_layernorm = new RmsNorm(config.HiddenSize, config.RmsNormEps, dtype, device);
        self_attn = new Attention(config, layerIndex, dtype, device);
        post_attention_layernorm = new RmsNorm(config.HiddenSize, config.RmsNormEps, dtype, device);
        mlp = new Mlp(config, dtype, device);
        RegisterComponents();
    }

    internal RmsNorm InputLayernorm => input_layernorm;
    internal Attention SelfAttn => self_attn;
    internal RmsNorm PostAttentionLayernorm => post_attention_layernorm;
    internal Mlp FeedForward => mlp;

    public Tensor forward(Tensor x, Tensor cos, Tensor sin, Tensor? mask, KvCache? cache, PackedLayout? packed = null) // [B, T, D] -> [B, T, D]
    {
        using var scope = NewDisposeScope();
        // Residual adds; at inference they land in the fresh sublayer outputs instead of new tensors.
        bool inPlace = !is_grad_enabled();
        var attention = self_attn.forward(input_layernorm.forward(x), cos, sin, mask, cache, packed);
        var h = inPlace ? attention.add_(x, Scalars.One) : x.add(attention, Scalars.One);
        var feedForward = mlp.forward(post_attention_layernorm.forward(h));
        var output = inPlace ? feedForward.add_(h, Scalars.One) : h.add(feedForward, Scalars.One);
        return output.MoveToOuterDisposeScope();
    }
}
