using TorchSharp;
using static TorchSharp.torch;

namespace Gmsa.Engine.Model;

/// <summary>
/// Rotary position embedding in the rotate-half layout of Hugging Face checkpoints.
/// Inverse frequencies are computed once in double precision (with llama3 or linear scaling)
/// and kept as a managed array rather than a module buffer, so casting the model to bf16
/// never rounds them; cos/sin are built in float32 once per forward and shared by all layers.
/// </summary>
public sealed class RotaryEmbedding
{
    readonly float[] invFreq; // [Dh/2]

    public RotaryEmbedding(ModelConfig config)
    {
        int half = config.HeadDim / 2;
        var freqs = new double[half];
        for (int i = 0; i < half; i++)
            freqs[i] = 1.0 / Math.Pow(config.RopeTheta, 2.0 * i / config.HeadDim);
        invFreq = Scale(freqs, config.RopeScaling).Select(f => (float)f).ToArray();
    }

    public IReadOnlyList<float> InverseFrequencies => invFreq;

    static double[] Scale(double[] freqs, RopeScaling? scaling) => scaling?.RopeType switch
    {
        null => freqs,
        "linear" => freqs.Select(f => f / scaling.Factor).ToArray(),
        "llama3" => freqs.Select(f => Llama3(f, scaling)).ToArray(),
        _ => throw new NotSupportedException($"rope scaling '{scaling.RopeType}'"),
    };

    // LLaMA-3.1: long wavelengths are slowed by `factor`, short ones kept, the band between blended.
    static double Llama3(double freq, RopeScaling s)
    {
        double lowFreqWavelen = s.OriginalMaxPositionEmbeddings / s.LowFreqFactor;
        double highFreqWavelen = s.OriginalMaxPositionEmbeddings / s.HighFreqFactor;
        double wavelen = 2 * Math.PI / freq;
        if (wavelen < highFreqWavelen) return freq;
        if (wavelen > lowFreqWavelen) return freq / s.Factor;
        double smooth = (s.OriginalMaxPositionEmbeddings / wavelen - s.LowFreqFactor) / (s.HighFreqFactor - s.LowFreqFactor);
        return (1 - smooth) * freq / s.Factor + smooth * freq;
    }

    /// <summary>cos and sin tables for the given positions, cast to the activations' dtype.</summary>
    public (Tensor Cos, Tensor Sin) Compute(Tensor positionIds, ScalarType dtype) // [B, T] -> 2 x [B, 1, T, Dh]
    {
        using var scope = NewDisposeScope();
        var inv = tensor(invFreq, device: positionIds.device);                       // [Dh/2]
        var angles = positionIds.to(ScalarType.Float32).unsqueeze(-1) * inv;         // [B, T, Dh/2]
        var emb = cat([angles, angles], dim: -1).unsqueeze(1);                       // [B, 1, T, Dh]
        var cos = emb.cos().to(dtype).MoveToOuterDisposeScope();
        var sin = emb.sin().to(dtype).MoveToOuterDisposeScope();
        return (cos, sin);
    }

    /// <summary>x * cos + rotate_half(x) * sin, rotate_half(x) = [-x2, x1].</summary>
    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin) // [B, H, T, Dh]
    {
        using var scope = NewDisposeScope();
        long half = x.shape[^1] / 2;
        var x1 = x.narrow(-1, 0, half);
        var x2 = x.narrow(-1, half, half);
        var rotated = cat([-x2, x1], dim: -1);
        if (is_grad_enabled()) return (x * cos).add(rotated * sin, Scalars.One).MoveToOuterDisposeScope();
        return rotated.mul_(sin).addcmul_(x, cos, Scalars.One).MoveToOuterDisposeScope(); // same sum, no temporaries
    }
}
