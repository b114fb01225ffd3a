namespace Gmsa.Engine.Benchmarks;

/// <summary>
/// Threads that spin until disposed: the load of another process holding cores (a sidecar, the client, a noisy
/// neighbour), so a benchmark can show how decode holds up when it does not have the machine to itself.
/// </summary>
public sealed class BusyCores : IDisposable
{
    readonly Thread[] threads;
    volatile bool stop;

    public BusyCores(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        threads = Enumerable.Range(0, count).Select(i => new Thread(Spin) { IsBackground = true, Name = $"gmsa-busy-{i}" }).ToArray();
        foreach (var t in threads) t.Start();
    }

    void Spin()
    {
        while (!stop) Thread.SpinWait(64);
    }

    public void Dispose()
    {
        stop = true;
        foreach (var t in threads) t.Join();
    }
}
