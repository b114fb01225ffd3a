using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Gmsa.Engine.Model;

/// <summary>
/// Root-mean-square norm (TorchSharp has none). Statistics are taken in float32 whatever the
/// weight dtype, as transformers' LlamaRMSNorm does, then cast back before the scale.
/// </summary>
public sealed class RmsNorm : nn.Module<Tensor, Tensor>
{
    readonly double eps;
    readonly Scalar epsilon;   // eps as the Scalar every forward passes (see Scalars)
    readonly Parameter weight; // [D]

    public RmsNorm(long dim, double eps, ScalarType dtype = ScalarType.Float32, Device? device = null) : base(nameof(RmsNorm))
    {
        this.eps = eps;
        epsilon = eps.ToScalar();
        weight = new Parameter(ones(dim, dtype: dtype, device: device));
        RegisterComponents();
    }

    internal Tensor Weight => weight;
    internal double Eps => eps;

    public override Tensor forward(Tensor x) // [..., D] -> [..., D]
    {
        using var scope = NewDisposeScope();
        var x32 = x.to(ScalarType.Float32);
        if (is_grad_enabled())
        {
            var normed = x32 * rsqrt(x32.square().mean([-1], keepdim: true).add(epsilon, Scalars.One));
            return (weight * normed.to(x.dtype)).MoveToOuterDisposeScope();
        }
        // Inference: the same math with fewer full-size passes (memory-bound at prefill). x32 is a copy
        // unless x already is float32, and the result of each step below is a fresh tensor.
        var inverse = x32.square().mean([-1], keepdim: true).add_(epsilon, Scalars.One).rsqrt_();   // [..., 1]
        var scaled = x.dtype == ScalarType.Float32 ? x32 * inverse : x32.mul_(inverse);
        return scaled.to(x.dtype).mul_(weight).MoveToOuterDisposeScope();
    }
}
