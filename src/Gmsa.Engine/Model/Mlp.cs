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
    readonly FusedProjections gateUp; // gate/up weights as row blocks of one buffer: one matmul at inference

    public Mlp(ModelConfig config, ScalarType dtype, Device? device) : base(nameof(Mlp))
    {
        gateUp = new FusedProjections(config.HiddenSize, [config.IntermediateSize, config.IntermediateSize], false, dtype, device);
        (gate_proj, up_proj) = (gateUp.Projections[0], gateUp.Projections[1]);
        down_proj = Layers.Linear(config.IntermediateSize, config.HiddenSize, false, dtype, device);
        RegisterComponents();
    }

    /// <summary>silu(gate) * up without copies: one matmul over both weights, the product written into the gate half.</summary>
    Tensor InferenceHidden(Tensor x)
    {
        var gu = gateUp.Forward(x);
        return nn.functional.silu(gu[0], inplace: true).mul_(gu[1]);
    }

    internal FusedProjections GateUp => gateUp;

    protected override void Dispose(bool disposing)
    {
        if (disposing) gateUp.Dispose();
        base.Dispose(disposing);
    }
    internal LoraLinear GateProj => gate_proj;
    internal LoraLinear UpProj => up_proj;
    internal LoraLinear DownProj => down_proj;

    public override Tensor forward(Tensor x) // [B, T, D] -> [B, T, D]
    {
        using var scope = NewDisposeScope();
        var hidden = is_grad_enabled()                                            // [B, T, I]
            ? nn.functional.silu(gate_proj.forward(x)) * up_proj.forward(x)
            : InferenceHidden(x);
        return down_proj.forward(hidden).MoveToOuterDisposeScope();
    }
}
