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
    public void Run_MorePartsThanThreads_EveryPartRunsExactlyOnceARound()
    {
        var team = KernelWorkers.For(2);
        var counts = new int[9];
        for (int round = 0; round < 1000; round++)
            team.Run(9, part => Interlocked.Increment(ref counts[part]));
        Assert.All(counts, count => Assert.Equal(1000, count));
    }

    [Fact]
    public void Run_OneThreadStalls_TheOtherRunsEveryRemainingPart()
    {
        // The first part claimed holds its thread until every other part is done: with a static split that thread's
        // other parts would wait for it (and this would time out); claimed parts go to the thread that is free.
        // A team of its own: the shared one, busy with a decode test running beside this one, would make the caller
        // run every part itself, and the stalled first part would wait for parts queued behind it.
        var team = new KernelWorkers(2);
        try
        {
            for (int round = 0; round < 20; round++)
            {
                int first = -1, others = 0;
                bool timedOut = false;
                team.Run(8, part =>
                {
                    if (Interlocked.CompareExchange(ref first, part, -1) == -1)
                    {
                        timedOut = !SpinWait.SpinUntil(() => Volatile.Read(ref others) == 7, TimeSpan.FromSeconds(10));
                        return;
                    }
                    Interlocked.Increment(ref others);
                });
                Assert.False(timedOut);
                Assert.Equal(7, others);
            }
        }
        finally { team.Stop(); }
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
