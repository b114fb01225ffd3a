using System.Diagnostics;

namespace Gmsa.Engine.Model;

/// <summary>
/// A fixed team of threads for the decode kernels, which hand out ~50 jobs of 10-50 µs a token. The thread pool's
/// workers go to sleep between such jobs and take longer to wake than the job lasts, so these threads spin for a short
/// while after each job (as OpenMP's do) and block only when no work came for <see cref="SpinTime"/>. The caller runs
/// part 0 itself and waits for the others.
/// </summary>
internal sealed class KernelWorkers
{
    static readonly TimeSpan SpinTime = TimeSpan.FromMilliseconds(0.5);
    static KernelWorkers? shared;

    readonly Worker[] workers;
    Action<int>? body;
    int pending;
    Exception? failure;

    KernelWorkers(int threads)
    {
        workers = Enumerable.Range(1, threads - 1).Select(i => new Worker(this, i)).ToArray();
    }

    /// <summary>The team for <paramref name="threads"/> cores, rebuilt when the count changes.</summary>
    public static KernelWorkers For(int threads)
    {
        lock (typeof(KernelWorkers))
        {
            var team = shared;
            if (team is null || team.workers.Length != threads - 1)
            {
                if (team is not null && Volatile.Read(ref team.busy) == 0) team.Stop(); // a busy one stops being shared; its threads sleep
                shared = team = new KernelWorkers(threads);
            }
            return team;
        }
    }

    /// <summary>
    /// Runs body(0..parts-1), part 0 on the calling thread; parts must not exceed the team's size. While another thread
    /// (another model) has the team, the caller runs every part itself.
    /// </summary>
    public void Run(int parts, Action<int> body)
    {
        if (parts - 1 > workers.Length) throw new ArgumentOutOfRangeException(nameof(parts));
        if (Interlocked.CompareExchange(ref busy, 1, 0) != 0)
        {
            for (int part = 0; part < parts; part++) body(part);
            return;
        }
        try { RunShared(parts, body); }
        finally { Volatile.Write(ref busy, 0); }
    }

    int busy;

    void RunShared(int parts, Action<int> body)
    {
        this.body = body;
        failure = null;
        Volatile.Write(ref pending, parts - 1);
        for (int i = 0; i < parts - 1; i++) workers[i].Start();
        try { body(0); }
        finally
        {
            var spin = new SpinWait();
            while (Volatile.Read(ref pending) > 0) spin.SpinOnce(sleep1Threshold: -1);
        }
        if (failure is { } error) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(error).Throw(); // as if the caller had run it
    }

    void Stop()
    {
        foreach (var w in workers) w.Stop();
    }

    sealed class Worker
    {
        readonly KernelWorkers team;
        readonly int part;
        readonly SemaphoreSlim wake = new(0);
        int generation, sleeping;
        volatile bool stopped;

        public Worker(KernelWorkers team, int part)
        {
            this.team = team;
            this.part = part;
            new Thread(Loop) { IsBackground = true, Name = $"gmsa-kernel-{part}" }.Start();
        }

        public void Start()
        {
            Interlocked.Increment(ref generation);
            if (Interlocked.Exchange(ref sleeping, 0) == 1) wake.Release();
        }

        public void Stop()
        {
            stopped = true;
            Start();
        }

        void Loop()
        {
            int seen = 0;
            while (!stopped)
            {
                long idleSince = Stopwatch.GetTimestamp();
                while (Volatile.Read(ref generation) == seen)
                {
                    if (Stopwatch.GetElapsedTime(idleSince) > SpinTime)
                    {
                        Interlocked.Exchange(ref sleeping, 1); // a full fence: the check below must not read a stale generation
                        if (Volatile.Read(ref generation) == seen) wake.Wait();
                        idleSince = Stopwatch.GetTimestamp();
                    }
                    else Thread.SpinWait(16);
                }
                seen = Volatile.Read(ref generation);
                if (stopped) return;
                try { team.body!(part); }
                catch (Exception e) { team.failure = e; }
                finally { Interlocked.Decrement(ref team.pending); }
            }
        }
    }
}
