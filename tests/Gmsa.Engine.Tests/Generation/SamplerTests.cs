using Gmsa.Engine.Generation;
using TorchSharp;
using static TorchSharp.torch;

namespace Gmsa.Engine.Tests.Generation;

public sealed class SamplerTests
{
    [Fact]
    public void TopP_HandComputedDistribution_KeepsSmallestNucleus()
    {
        using var scope = NewDisposeScope();
        // probabilities 0.5, 0.3, 0.2 (token order shuffled): p = 0.6 needs the top two, p = 0.5 only the first.
        var logits = tensor(new[] { 0.3f, 0.5f, 0.2f }).log().unsqueeze(0);
        var kept = Sampler.TopP(logits, 0.6).isfinite()[0].data<bool>().ToArray();
        Assert.Equal([true, true, false], kept);
        var top = Sampler.TopP(logits, 0.5).isfinite()[0].data<bool>().ToArray();
        Assert.Equal([false, true, false], top);
        var tiny = Sampler.TopP(logits, 1e-50).isfinite()[0].data<bool>().ToArray();    // 1e-50 is 0 in float32
        Assert.Equal([false, true, false], tiny);
    }

    [Fact]
    public void Penalize_SeenTokens_DividesPositiveAndMultipliesNegative()
    {
        using var scope = NewDisposeScope();
        var logits = tensor(new[] { 2.0f, -2.0f, 4.0f, 1.0f }).unsqueeze(0);
        var history = tensor(new long[] { 0, 1, 1 }).unsqueeze(0); // repeats count once
        var result = Sampler.Penalize(logits, history, 2.0)[0].data<float>().ToArray();
        Assert.Equal([1.0f, -4.0f, 4.0f, 1.0f], result);
    }

    [Fact]
    public void PenalizeGenerated_CountsPerRow_SubtractsFrequencyTimesCountAndPresenceOnce()
    {
        using var scope = NewDisposeScope();
        var logits = tensor(new[] { 1f, 2f, 3f, 4f, 1f, 2f, 3f, 4f }, [2, 4]);
        var generated = tensor(new long[] { 1, 1, 1, 3, 0, 0, 2, 2 }, [2, 4]);   // row 0: token 1 three times, 3 once
        var result = Sampler.PenalizeGenerated(logits, generated, 0.5, 0.25).data<float>().ToArray();
        // row 0: 2 - 3*0.5 - 0.25 = 0.25, 4 - 0.5 - 0.25 = 3.25; row 1: tokens 0 and 2 twice each: -0.25 and 1.75
        Assert.Equal([1f, 0.25f, 3f, 3.25f, -0.25f, 2f, 1.75f, 4f], result);
    }

    [Fact]
    public void Next_PresencePenalty_TurnsGreedyAwayFromAGeneratedToken_AndANegativeOneTowardIt()
    {
        using var scope = NewDisposeScope();
        var logits = tensor(new[] { 0f, 1f, 0.5f }, [1, 3]);
        var generated = tensor(new long[] { 1 }, [1, 1]);
        long Pick(double presence) => new Sampler(new SamplingOptions { PresencePenalty = presence }, CPU).Next(logits, null, generated).item<long>();
        Assert.Equal(2, Pick(0.6));          // 1 - 0.6 < 0.5
        Assert.Equal(1, Pick(0.4));          // 1 - 0.4 > 0.5
        var nothingYet = tensor(new long[] { 2 }, [1, 1]);
        Assert.Equal(2, new Sampler(new SamplingOptions { PresencePenalty = -0.6 }, CPU).Next(logits, null, nothingYet).item<long>());
    }

    [Fact]
    public void Next_Greedy_ReturnsArgmaxPerRow()
    {
        using var scope = NewDisposeScope();
        var sampler = new Sampler(new SamplingOptions(), CPU);
        var logits = tensor(new[] { 0f, 3f, 1f, 5f, 0f, 2f }, [2, 3]);
        Assert.Equal([1L, 0L], sampler.Next(logits, null).data<long>().ToArray());
    }

    [Fact]
    public void Next_SameSeed_SameSamples_AndTopKOneIsGreedy()
    {
        using var scope = NewDisposeScope();
        var logits = randn(4, 50, generator: new torch.Generator(7));
        var options = new SamplingOptions { Temperature = 1.0, Seed = 42 };
        long[] Draw(SamplingOptions o)
        {
            var s = new Sampler(o, CPU);
            return Enumerable.Range(0, 5).SelectMany(_ => s.Next(logits, null).data<long>().ToArray()).ToArray();
        }
        Assert.Equal(Draw(options), Draw(options));
        Assert.NotEqual(Draw(options), Draw(options with { Seed = 43 }));
        var greedy = logits.argmax(-1).data<long>().ToArray();
        var topOne = Draw(options with { TopK = 1 });
        Assert.Equal(Enumerable.Repeat(greedy, 5).SelectMany(g => g), topOne);
    }

    [Theory]
    [InlineData(0, 0.5, 0, 1.0, 1.0)]
    [InlineData(4, -1.0, 0, 1.0, 1.0)]
    [InlineData(4, 1.0, -1, 1.0, 1.0)]
    [InlineData(4, 1.0, 0, 0.0, 1.0)]
    [InlineData(4, 1.0, 0, 1.5, 1.0)]
    [InlineData(4, 1.0, 0, 1.0, 0.0)]
    [InlineData(4, double.PositiveInfinity, 0, 1.0, 1.0)]     // would sample uniformly, whatever the model says
    [InlineData(4, double.NaN, 0, 1.0, 1.0)]
    [InlineData(4, 1.0, 0, 1.0, double.PositiveInfinity)]
    public void Validate_OutOfRange_ThrowsArgumentException(int maxNew, double temperature, int topK, double topP, double penalty)
    {
        var options = new SamplingOptions { MaxNewTokens = maxNew, Temperature = temperature, TopK = topK, TopP = topP, RepetitionPenalty = penalty };
        Assert.Throws<ArgumentException>(options.Validate);
    }

    [Theory]
    [InlineData(2.5, 0.0)]
    [InlineData(0.0, -2.01)]
    [InlineData(double.NaN, 0.0)]
    public void Validate_OpenAIPenaltyOutsideMinusTwoToTwo_ThrowsArgumentException(double frequency, double presence)
    {
        var options = new SamplingOptions { FrequencyPenalty = frequency, PresencePenalty = presence };
        var e = Assert.Throws<ArgumentException>(options.Validate);
        Assert.Contains("[-2, 2]", e.Message);
    }

    [Theory]
    [InlineData(1e-38, 1.0, 1.0)]    // temperature so small that logits / T overflow
    [InlineData(0.8, 1e-50, 1.0)]    // a nucleus smaller than any probability: the top token alone
    [InlineData(0.8, 1.0, 1e-40)]    // a penalty that turns seen logits into ±inf
    [InlineData(1e-38, 1e-50, 1e-40)]
    public void Next_ExtremeButFiniteSettings_SampleAValidToken(double temperature, double topP, double penalty)
    {
        using var scope = NewDisposeScope();
        var sampler = new Sampler(new SamplingOptions { Temperature = temperature, TopP = topP, RepetitionPenalty = penalty, Seed = 3 }, CPU);
        var logits = tensor(new[] { 0.5f, 3f, -1f, 2.5f, 0f, 1f }, [1, 6]);
        var seen = tensor(new long[] { 2, 3 }, [1, 2]);
        for (int i = 0; i < 20; i++)
        {
            long token = sampler.Next(logits, seen).item<long>();
            Assert.InRange(token, 0, 5);
            if (temperature < 1e-30 && penalty == 1.0) Assert.Equal(1, token);   // the limit of T -> 0 is greedy
            if (topP < 1e-30 && penalty == 1.0) Assert.Equal(1, token);          // only the most likely token is left
        }
    }
}
