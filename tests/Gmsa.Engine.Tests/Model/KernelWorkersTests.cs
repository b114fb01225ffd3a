using Gmsa.Engine.Model;

namespace Gmsa.Engine.Tests.Model;

public sealed class KernelWorkersTests
{
    [Fact]
    public void Run_ManyRounds_EveryPartRunsExactlyOnceARound()
    {
        var team = KernelWorkers.For(2);
        var counts = new int[2];
        for (int round = 0; round < 2000; round++)
            team.Run(2, part => Interlocked.Increment(ref counts[part]));
        Assert.Equal(new[] { 2000, 2000 }, counts);
    }

    [Fact]
    public void Run_WorkerPartThrows_RethrowsOnTheCaller()
    {
        var team = KernelWorkers.For(2);
        var error = Assert.Throws<InvalidOperationException>(() => team.Run(2, part => { if (part == 1) throw new InvalidOperationException("boom"); }));
        Assert.Equal("boom", error.Message);
        int ran = 0;
        team.Run(2, _ => Interlocked.Increment(ref ran)); // the team still works afterwards
        Assert.Equal(2, ran);
    }

    [Fact]
    public async Task Run_TwoCallersAtOnce_BothGetEveryPart()
    {
        var team = KernelWorkers.For(2);
        async Task<int> Caller() => await Task.Run(() =>
        {
            int sum = 0;
            for (int round = 0; round < 500; round++)
            {
                var parts = new int[2];
                team.Run(2, part => parts[part] = part + 1);
                sum += parts.Sum();
            }
            return sum;
        });
        var results = await Task.WhenAll(Caller(), Caller());
        Assert.All(results, sum => Assert.Equal(500 * 3, sum));
    }
}
