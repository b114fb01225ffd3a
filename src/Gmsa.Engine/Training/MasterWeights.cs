using Gmsa.Engine.Model;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Gmsa.Engine.Training;

/// <summary>
/// Mixed precision without autocast (TorchSharp has none): the model computes in its own dtype
/// (bfloat16 on CPU runs matmuls ~2.4x faster than float32 here), while the optimizer updates
/// float32 master copies of the trainable weights, because a bf16 weight (8 mantissa bits) would
/// swallow updates smaller than ~0.4% of itself late in a cosine schedule. After each step the
/// master values are cast back into the model. For a float32 model the master copies are the
/// model's own parameters and nothing is copied.
/// </summary>
public sealed class MasterWeights : IDisposable
{
    readonly (string Name, Parameter Working, Parameter Master)[] weights;

    public MasterWeights(IEnumerable<(string Name, Parameter Parameter)> trainable)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        weights = trainable.Select(p => (p.Name, p.Parameter,
                p.Parameter.dtype == ScalarType.Float32
                    ? p.Parameter
                    : new Parameter(p.Parameter.detach().to(ScalarType.Float32, copy: true))))
            .ToArray();
        foreach (var (_, working, master) in weights)
            if (!ReferenceEquals(working, master)) master.DetachFromDisposeScope(); // owned here, freed in Dispose
        if (weights.Length == 0) throw new ArgumentException("nothing to train: no trainable parameters");
    }

    public bool IsMixed => weights.Any(w => !ReferenceEquals(w.Working, w.Master));

    /// <summary>The float32 weights the optimizer owns, by name.</summary>
    public IEnumerable<(string Name, Parameter Master)> Named => weights.Select(w => (w.Name, w.Master));

    public IEnumerable<Parameter> Parameters => weights.Select(w => w.Master);

    /// <summary>
    /// Adds the model's gradients of one micro-batch into the float32 master gradients and clears
    /// them, so accumulation over micro-batches happens in float32, not in bf16.
    /// </summary>
    public void AccumulateGradients()
    {
        using var noGrad = no_grad();
        foreach (var (_, working, master) in weights)
        {
            if (ReferenceEquals(working, master)) continue; // autograd already accumulates in float32
            using var grad = working.grad;
            if (grad is null) continue;
            using var sum = master.grad;
            if (sum is null) master.grad = grad.to(ScalarType.Float32);
            else sum.add_(grad, Scalars.One);
            working.grad = null;
        }
    }

    /// <summary>Multiplies the accumulated float32 gradients by a factor (the step's 1 / target tokens).</summary>
    public void ScaleGradients(double factor)
    {
        using var noGrad = no_grad();
        using var scale = factor.ToScalar(); // held to the end, not a temporary (see Scalars)
        foreach (var (_, _, master) in weights)
        {
            using var grad = master.grad;
            grad?.mul_(scale);
        }
    }

    /// <summary>Copies the updated master values back into the model and clears every gradient.</summary>
    public void PushToModel()
    {
        using var noGrad = no_grad();
        foreach (var (_, working, master) in weights)
        {
            if (!ReferenceEquals(working, master)) working.copy_(master);
            working.grad = null;
            master.grad = null;
        }
    }

    /// <summary>Overwrites master and model weights from a checkpoint's float32 tensors (every name must be present).</summary>
    public void Load(IReadOnlyDictionary<string, Tensor> tensors, string source)
    {
        using var noGrad = no_grad();
        foreach (var (name, working, master) in weights)
        {
            if (!tensors.TryGetValue(name, out var t))
                throw new InvalidDataException($"{source} lacks trainable weight '{name}'");
            if (!t.shape.SequenceEqual(master.shape))
                throw new InvalidDataException($"{source}: '{name}' is [{string.Join(", ", t.shape)}], the model's is [{string.Join(", ", master.shape)}]");
            master.copy_(t);
            if (!ReferenceEquals(working, master)) working.copy_(master);
        }
    }

    public void Dispose()
    {
        foreach (var (_, working, master) in weights)
            if (!ReferenceEquals(working, master)) master.Dispose();
    }
}
