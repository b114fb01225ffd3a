using Gmsa.Engine.Model;
using static TorchSharp.torch;

namespace Gmsa.Engine.Tests.Model;

public sealed class RotaryEmbeddingTests
{
    static ModelConfig Config(int headDim, double theta, RopeScaling? scaling = null) =>
        TinyModels.Llama() with { HeadDim = headDim, RopeTheta = theta, RopeScaling = scaling };

    [Fact]
    public void Apply_UnitVectorAtPositionOne_RotatesFirstPairByOneRadian()
    {
        using var scope = NewDisposeScope();
        // head_dim 4, theta 10000: inverse frequencies 1 and 0.01; rotate-half pairs dims (0, 2) and (1, 3).
        var rope = new RotaryEmbedding(Config(4, 10000));
        Assert.Equal([1f, 0.01f], rope.InverseFrequencies);
        var (cos, sin) = rope.Compute(tensor(new long[] { 1 }).view(1, 1), ScalarType.Float32);
        var x = tensor(new[] { 1f, 0f, 0f, 0f }).view(1, 1, 1, 4);
        var y = RotaryEmbedding.Apply(x, cos, sin).flatten().data<float>().ToArray();
        Assert.Equal(MathF.Cos(1), y[0], 6);
        Assert.Equal(0f, y[1], 6);
        Assert.Equal(MathF.Sin(1), y[2], 6);
        Assert.Equal(0f, y[3], 6);
    }

    [Fact]
    public void Apply_DotProduct_DependsOnlyOnRelativePosition()
    {
        using var scope = NewDisposeScope();
        var rope = new RotaryEmbedding(Config(8, 10000));
        var q = randn(1, 1, 1, 8, generator: new TorchSharp.torch.Generator(1));
        var k = randn(1, 1, 1, 8, generator: new TorchSharp.torch.Generator(2));
        float Score(long qPos, long kPos)
        {
            var (cq, sq) = rope.Compute(tensor(new[] { qPos }).view(1, 1), ScalarType.Float32);
            var (ck, sk) = rope.Compute(tensor(new[] { kPos }).view(1, 1), ScalarType.Float32);
            return (RotaryEmbedding.Apply(q, cq, sq) * RotaryEmbedding.Apply(k, ck, sk)).sum().item<float>();
        }
        Assert.Equal(Score(7, 3), Score(104, 100), 4);
    }

    [Fact]
    public void Llama3Scaling_KeepsHighFrequenciesDividesLowOnesBlendsBetween()
    {
        var scaling = new RopeScaling("llama3", Factor: 8, LowFreqFactor: 1, HighFreqFactor: 4, OriginalMaxPositionEmbeddings: 8192);
        var plain = new RotaryEmbedding(Config(128, 500000)).InverseFrequencies;
        var scaled = new RotaryEmbedding(Config(128, 500000, scaling)).InverseFrequencies;
        for (int i = 0; i < plain.Count; i++)
        {
            double wavelen = 2 * Math.PI / plain[i];
            if (wavelen < 8192 / 4.0) Assert.Equal(plain[i], scaled[i]);             // short waves untouched
            else if (wavelen > 8192 / 1.0) Assert.Equal(plain[i] / 8, scaled[i], 1e-12); // long waves slowed 8x
            else Assert.InRange(scaled[i], plain[i] / 8, plain[i]);                  // the band in between is blended
        }
        Assert.Contains(plain, f => 2 * Math.PI / f is > 2048 and < 8192); // the blend band is exercised
    }

    [Fact]
    public void LinearScaling_DividesEveryFrequencyByFactor()
    {
        var plain = new RotaryEmbedding(Config(16, 10000)).InverseFrequencies;
        var scaled = new RotaryEmbedding(Config(16, 10000, new RopeScaling("linear", Factor: 4))).InverseFrequencies;
        Assert.Equal(plain.Select(f => f / 4), scaled);
    }
}
