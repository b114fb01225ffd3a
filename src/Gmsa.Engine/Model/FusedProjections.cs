using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Gmsa.Engine.Model;

// Legend: In input features, O_i each projection's output features, O = sum of O_i.

/// <summary>
/// Projections of one input (q/k/v, gate/up) whose weights are consecutive row blocks of one [O, In] buffer. Each
/// projection is still its own <see cref="LoraLinear"/> with its own checkpoint key and Parameter (a view of the buffer),
/// so loading, saving, adapters and training are unchanged; inference can multiply by the whole buffer at once, one
/// matmul where there were three, which is what the reference engines fuse at load time.
/// Not a module: the buffer must not appear in the state dict.
/// </summary>
public sealed class FusedProjections : IDisposable
{
    readonly long[] offsets;

    public FusedProjections(long inFeatures, IReadOnlyList<long> outFeatures, bool bias, ScalarType dtype, Device? device)
    {
        // Owned by the module for its whole life, whatever dispose scope it was built in.
        Weight = empty(outFeatures.Sum(), inFeatures, dtype: dtype, device: device).DetachFromDisposeScope();
        Bias = bias ? zeros(outFeatures.Sum(), dtype: dtype, device: device).DetachFromDisposeScope() : null;
        offsets = new long[outFeatures.Count];
        var projections = new LoraLinear[outFeatures.Count];
        long at = 0;
        for (int i = 0; i < outFeatures.Count; i++)
        {
            offsets[i] = at;
            projections[i] = new LoraLinear(new Parameter(Weight.narrow(0, at, outFeatures[i])),
                Bias is null ? null : new Parameter(Bias.narrow(0, at, outFeatures[i])));
            at += outFeatures[i];
        }
        Projections = projections;
    }

    public Tensor Weight { get; }       // [O, In]
    public Tensor? Bias { get; }        // [O]
    public IReadOnlyList<LoraLinear> Projections { get; }

    /// <summary>
    /// True when one matmul by <see cref="Weight"/> stands for every projection: each still a view at its place in the
    /// buffer (moving the module with .to() would have given them storage of their own) and none applying an adapter.
    /// </summary>
    public bool Usable
    {
        get
        {
            for (int i = 0; i < Projections.Count; i++)
            {
                var p = Projections[i];
                if (!ReferenceEquals(p.InferenceWeight, p.Weight) || p.Weight.storage_offset() != offsets[i] * Weight.shape[1]
                    || p.Weight.device_type != Weight.device_type || p.Weight.dtype != Weight.dtype)
                    return false;
            }
            return true;
        }
    }

    /// <summary>x [..., In] -> one output per projection [..., O_i] (views of one [..., O] result) when <see cref="Usable"/>.</summary>
    public Tensor[] Forward(Tensor x)
    {
        if (!Usable) return Projections.Select(p => p.forward(x)).ToArray();
        var all = nn.functional.linear(x, Weight, Bias);
        return Projections.Select((p, i) => all.narrow(-1, offsets[i], p.OutFeatures)).ToArray();
    }

    /// <summary>Frees the buffer's handle (its storage lives on while a projection's Parameter still views it).</summary>
    public void Dispose()
    {
        Weight.Dispose();
        Bias?.Dispose();
    }
}
