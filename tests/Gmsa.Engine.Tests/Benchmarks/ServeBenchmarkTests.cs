using Gmsa.Engine.Benchmarks;

namespace Gmsa.Engine.Tests.Benchmarks;

public sealed class ServeBenchmarkTests
{
    [Fact]
    public void Percentile_TenValues_IsTheNearestRank()
    {
        var values = Enumerable.Range(1, 10).Select(i => TimeSpan.FromMilliseconds(i * 10)).Reverse().ToArray();
        Assert.Equal(TimeSpan.FromMilliseconds(50), ServeBenchmark.Percentile(values, 0.50));   // rank ceil(5) = 5
        Assert.Equal(TimeSpan.FromMilliseconds(100), ServeBenchmark.Percentile(values, 0.99));  // rank ceil(9.9) = 10
        Assert.Equal(TimeSpan.Zero, ServeBenchmark.Percentile([], 0.5));
    }

    [Fact]
    public void Workload_SameSeed_SameRequestsWithinTheirRanges()
    {
        var options = new ServeBenchmarkOptions { Requests = 200, Seed = 7 };
        var a = ServeBenchmark.Workload(options, vocabSize: 512, bos: 1);
        var b = ServeBenchmark.Workload(options, vocabSize: 512, bos: 1);

        Assert.Equal(a.Select(r => (r.PromptTokens.Count, r.Sampling)), b.Select(r => (r.PromptTokens.Count, r.Sampling)));
        Assert.All(a, r =>
        {
            Assert.InRange(r.PromptTokens.Count, options.MinPromptTokens, options.MaxPromptTokens);
            Assert.InRange(r.Sampling.MaxNewTokens, options.MinNewTokens, options.MaxNewTokens);
            Assert.Equal(1, r.PromptTokens[0]);
            Assert.All(r.PromptTokens.Skip(1), t => Assert.InRange(t, 3, 511));
        });
        Assert.InRange(a.Count(r => !r.Sampling.Greedy), 60, 140);   // about half sampled
    }
}
