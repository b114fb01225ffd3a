using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Gmsa.Engine.Model;

/// <summary>SwiGLU feed-forward: down_proj(silu(gate_proj(x)) * up_proj(x)).</summary>
public sealed class Mlp : nn.Module<Tensor, Tensor>
{
    readonly LoraLinear gate_proj; // D -> I
    readonly LoraLinear up_proj;   // D -> I
    readonly LoraLinear down_proj; // I -> D

    public Mlp(ModelConfig config, ScalarType dtype, Device? device) : base(nameof(Mlp))
    {
        gate_proj = Layers.Linear(config.HiddenSize, config.IntermediateSize, false, dtype, device);
        up_proj = Layers.Linear(config.HiddenSize, config.IntermediateSize, false, dtype, device);
        down_proj = Layers.Linear(config.IntermediateSize, config.HiddenSize, false, dtype, device);
        RegisterComponents();
    }

    internal LoraLinear GateProj => gate_proj;
    internal LoraLinear UpProj => up_proj;
    internal LoraLinear DownProj => down_proj;

    public override Tensor forward(Tensor x) // [B, T, D] -> [B, T, D]
    {
        using var scope = NewDisposeScope();
        var hidden = is_grad_enabled()                                            // [B, T, I]
            ? nn.functional.silu(gate_proj.forward(x)) * up_proj.forward(x)
            : nn.functional.silu(gate_proj.forward(x), inplace: true).mul_(up_proj.forward(x)); // no copies at inference
        return down_proj.forward(hidden).MoveToOuterDisposeScope();
    }
}
