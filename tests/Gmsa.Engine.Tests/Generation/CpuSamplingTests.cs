using Gmsa.Engine.Generation;
using TorchSharp;
using static TorchSharp.torch;

namespace Gmsa.Engine.Tests.Generation;

public sealed class CpuSamplingTests
{
    /// <summary>The tokens libtorch's filter (Sampler's GPU path) keeps with a probability above zero.</summary>
    static bool[] LibtorchKept(Tensor row, double temperature, int topK, double topP)
    {
        using var scope = NewDisposeScope();
        var scores = Sampler.Filter(row, temperature, topK, topP < 1.0 ? topP : null);
        return scores.isfinite().logical_and(scores.exp().gt(0))[0].data<bool>().ToArray();
    }

    [Theory]
    [InlineData(1.0, 0, 0.9)]
    [InlineData(0.7, 0, 0.95)]
    [InlineData(1.5, 0, 0.5)]
    [InlineData(1.0, 40, 1.0)]
    [InlineData(0.8, 50, 0.9)]
    [InlineData(2.0, 0, 0.999)]
    [InlineData(1.0, 0, 1e-50)]
    public void Filter_RandomRows_KeepsTheTokensOfTheLibtorchFilter(double temperature, int topK, double topP)
    {
        using var scope = NewDisposeScope();
        var generator = new torch.Generator(11);
        for (int trial = 0; trial < 20; trial++)
        {
            var row = randn(1, 2048, generator: generator).mul_(trial % 2 == 0 ? 3.0 : 0.5);   // peaked and flat rows
            var weights = new float[2048];
            CpuSampling.Filter(row[0].data<float>().ToArray(), temperature, topK, topP, weights);

            Assert.Equal(LibtorchKept(row, temperature, topK, topP), weights.Select(w => w > 0));
        }
    }

    [Theory]
    [InlineData(0.95)]
    [InlineData(0.5)]
    [InlineData(0.99)]   // not much closer to 1: libtorch's float32 cumsum over 8,192 tokens is then off by more than 1 - p
    public void Filter_PeakedRowsOfAWholeVocabulary_KeepsTheTokensOfTheLibtorchFilter(double topP)
    {
        // Most of 8,192 tokens fall under the nucleus's floor and are never sorted: the kept set must not change.
        using var scope = NewDisposeScope();
        var generator = new torch.Generator(12);
        for (int trial = 0; trial < 10; trial++)
        {
            var row = randn(1, 8192, generator: generator).mul_(2.0 + trial);
            var weights = new float[8192];
            CpuSampling.Filter(row[0].data<float>().ToArray(), 0.8, 0, topP, weights);

            Assert.Equal(LibtorchKept(row, 0.8, 0, topP), weights.Select(w => w > 0));
        }
    }

    [Theory]
    [InlineData(0.55, 6)]    // mass strictly above the k-th of ten equal tokens is k/10: kept while under 0.55
    [InlineData(0.5, 5)]
    [InlineData(1e-50, 1)]   // p underflows to 0 in float32: the top token alone
    public void Filter_TenEqualTokens_KeepsTheFirstOnesInIndexOrder(double topP, int kept)
    {
        var weights = new float[10];

        CpuSampling.Filter(new float[10], 1.0, 0, topP, weights);

        Assert.Equal(Enumerable.Range(0, 10).Select(i => i < kept), weights.Select(w => w > 0));
    }

    [Fact]
    public void Next_FourTokenDistribution_DrawsEachInProportion()
    {
        using var scope = NewDisposeScope();
        double[] p = [0.5, 0.3, 0.15, 0.05];
        var logits = tensor(p.Select(x => (float)Math.Log(x)).ToArray(), [1, 4]);
        var sampler = new Sampler(new SamplingOptions { Temperature = 1.0, Seed = 5 }, CPU);
        var counts = new int[4];
        for (int i = 0; i < 20_000; i++) counts[sampler.Next(logits, null).item<long>()]++;

        for (int t = 0; t < 4; t++) Assert.InRange(counts[t] / 20_000.0, p[t] - 0.015, p[t] + 0.015);
    }

    [Fact]
    public void Next_TopPHalfOfThreeTokens_NeverDrawsOutsideTheNucleus()
    {
        using var scope = NewDisposeScope();
        // 0.5, 0.3, 0.2 shuffled: p = 0.6 keeps the top two, in proportion 5 : 3
        var logits = tensor(new[] { 0.3f, 0.5f, 0.2f }, [1, 3]).log();
        var sampler = new Sampler(new SamplingOptions { Temperature = 1.0, TopP = 0.6, Seed = 9 }, CPU);
        var counts = new int[3];
        for (int i = 0; i < 8_000; i++) counts[sampler.Next(logits, null).item<long>()]++;

        Assert.Equal(0, counts[2]);
        Assert.InRange(counts[1] / 8_000.0, 0.625 - 0.02, 0.625 + 0.02);
    }
}
