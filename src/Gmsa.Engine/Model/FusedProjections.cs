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
    readonly Dictionary<string, (Tensor Buffer, Tensor[] Views)> folded = [];   // per folded adapter: its packed weights and their rows

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

    /// <summary>True when one matmul stands for every projection (see <see cref="InferenceBuffer"/>).</summary>
    public bool Usable => InferenceBuffer is not null;

    /// <summary>
    /// The [O, In] weight one matmul multiplies by, or null when none stands for every projection: <see cref="Weight"/>
    /// while each projection uses its base weight, still a view at its place in the buffer (moving the module with .to()
    /// would have given them storage of their own); an adapter's packed buffer (<see cref="PackFolded"/>) while that
    /// adapter is on, folded, in every projection; null while an unfolded adapter is on (three matmuls each).
    /// </summary>
    public Tensor? InferenceBuffer
    {
        get
        {
            var first = Projections[0];
            if (ReferenceEquals(first.InferenceWeight, first.Weight))
            {
                for (int i = 0; i < Projections.Count; i++)
                {
                    var p = Projections[i];
                    if (!ReferenceEquals(p.InferenceWeight, p.Weight) || p.Weight.storage_offset() != offsets[i] * Weight.shape[1]
                        || p.Weight.device_type != Weight.device_type || p.Weight.dtype != Weight.dtype)
                        return null;
                }
                return Weight;
            }
            if (!folded.TryGetValue(first.ActiveAdapter, out var packed)) return null;
            for (int i = 0; i < Projections.Count; i++)
                if (!ReferenceEquals(Projections[i].InferenceWeight, packed.Views[i])) return null;   // re-folded since, or another adapter
            return packed.Buffer;
        }
    }

    /// <summary>x [..., In] -> one output per projection [..., O_i] (views of one [..., O] result) when <see cref="Usable"/>.</summary>
    public Tensor[] Forward(Tensor x)
    {
        if (InferenceBuffer is not { } buffer) return Projections.Select(p => p.forward(x)).ToArray();
        var all = nn.functional.linear(x, buffer, Bias);
        return Projections.Select((p, i) => all.narrow(-1, offsets[i], p.OutFeatures)).ToArray();
    }

    /// <summary>
    /// For each adapter folded in every projection, copies the folded weights into one [O, In] buffer in the order of
    /// <see cref="Weight"/> and makes each projection's folded weight a view of its rows: with that adapter on, inference
    /// is one matmul again, as with the base weights, and the memory is the same. Call it after every fold
    /// (<see cref="Lora.MergeForInference"/> does); a weight folded again later is its own tensor, and the buffer goes
    /// unused until the next call.
    /// </summary>
    public void PackFolded()
    {
        var names = Projections.Skip(1).Aggregate(Projections[0].FoldedAdapters.ToHashSet(), (set, p) => { set.IntersectWith(p.FoldedAdapters); return set; });
        foreach (var name in names)
        {
            var weights = Projections.Select(p => p.FoldedWeight(name)!).ToArray();
            if (folded.TryGetValue(name, out var old) && weights.Select((w, i) => ReferenceEquals(w, old.Views[i])).All(same => same)) continue;
            Tensor buffer;
            using (no_grad()) buffer = cat(weights, 0).DetachFromDisposeScope();            // [O, In]
            var views = new Tensor[Projections.Count];
            for (int i = 0; i < views.Length; i++)
            {
                views[i] = buffer.narrow(0, offsets[i], Projections[i].OutFeatures).DetachFromDisposeScope();
                Projections[i].ReplaceFoldedWeight(name, views[i]);
            }
            old.Buffer?.Dispose();
            folded[name] = (buffer, views);
        }
    }

    /// <summary>Frees the buffer's handle (its storage lives on while a projection's Parameter still views it).</summary>
    public void Dispose()
    {
        Weight.Dispose();
        Bias?.Dispose();
        foreach (var packed in folded.Values) packed.Buffer.Dispose();
    }
}
