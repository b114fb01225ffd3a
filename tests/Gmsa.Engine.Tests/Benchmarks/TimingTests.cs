using Gmsa.Engine.Benchmarks;

namespace Gmsa.Engine.Tests.Benchmarks;

public sealed class TimingTests
{
    [Fact]
    public void MedianPair_TwoRuns_TimedInTurnAfterWarmUp()
    {
        var calls = new List<char>();

        Timing.MedianPair(() => calls.Add('a'), () => calls.Add('b'), repeats: 3, warmup: 1);

        Assert.Equal("abababab", new string(calls.ToArray()));
    }

    [Fact]
    public void MedianPair_SlowerSecondRun_EachMedianIsItsOwn()
    {
        // Sleeps are lower bounds only, so the check is one-sided: the second run's median cannot be the first's.
        var (fast, slow) = Timing.MedianPair(() => { }, () => Thread.Sleep(20), repeats: 3, warmup: 0);

        Assert.True(slow >= TimeSpan.FromMilliseconds(20), $"slow {slow}");
        Assert.True(fast < slow, $"fast {fast}, slow {slow}");
    }
}
