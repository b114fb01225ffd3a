using TorchSharp;

namespace Gmsa.Engine.Model;

/// <summary>
/// Scalars kept alive for as long as their users. TorchSharp turns a number passed to an op (and the implicit alpha of
/// <c>a + b</c>, <c>add_</c>, <c>addcmul_</c>) into a temporary Scalar that only its finalizer frees, and nothing holds it
/// during the native call: a garbage collection on another thread can free it mid-call, and libtorch then reads garbage
/// ("Expected false to be true" from c10's Scalar accessors; seen in a training run, a training test and a test that
/// folds LoRA adapters at load; a probe with collections forced on another thread broke 2 of 3,000 adds with temporary
/// Scalars, 0 with held ones). Model, training and serving code pass these, or a Scalar their owner holds, instead.
/// </summary>
internal static class Scalars
{
    /// <summary>The alpha of a plain add: held by a static field, so never finalized.</summary>
    public static readonly Scalar One = 1.ToScalar();

    /// <summary>The alpha of a difference: a - b is written <c>a.add(b, MinusOne)</c>.</summary>
    public static readonly Scalar MinusOne = (-1).ToScalar();

    public static readonly Scalar Zero = 0.ToScalar();

    /// <summary>The fill of a masked-out logit.</summary>
    public static readonly Scalar NegativeInfinity = double.NegativeInfinity.ToScalar();
}
