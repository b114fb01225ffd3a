using System.Diagnostics;

namespace Gmsa.Engine.Model;

/// <summary>
/// A fixed team of threads for the decode kernels, which hand out ~50 jobs of 10-50 µs a token. The thread pool's
/// workers go to sleep between such jobs and take longer to wake than the job lasts, so these threads spin for a short
/// while after each job (as OpenMP's do) and block only when no work came for <see cref="SpinTime"/>.
/// <para>
/// A job is cut into parts, and every thread, the caller included, claims the next part until none is left. A job
/// split one part per thread waits for its slowest thread: when another process holds one of the cores, the thread
/// descheduled there holds the job for an OS time slice. On two vCPUs with one busy, decode ran at 0.13-0.23x its quiet
/// rate that way, and at 0.6-0.78x with claimed parts. Which thread runs a part never changes its result: part
/// boundaries depend on the job alone.
/// </para>
/// </summary>
internal sealed class KernelWorkers
{
    static readonly TimeSpan SpinTime = TimeSpan.FromMilliseconds(0.5);
    static KernelWorkers? shared;

    /// <summary>
    /// Parts per thread a kernel cuts a large job into. One already lets a free thread take a stalled one's unclaimed
    /// part; two halve what a thread preempted mid-part holds. 1, 2 and 4 measured alike (`gmsa bench decode --busy-cores 1`).
    /// </summary>
    public const int PartsPerThread = 2;

    /// <summary>
    /// Parts to cut a job into on <paramref name="threads"/> cores: <paramref name="worthSplitting"/> (how many the job's
    /// size is worth) up to <see cref="PartsPerThread"/> per thread; one on a single core.
    /// </summary>
    public static int Parts(int threads, int worthSplitting) =>
        threads == 1 ? 1 : Math.Clamp(worthSplitting, 1, threads * PartsPerThread);

    readonly Worker[] workers;
    Job? current;
    int busy;

    /// <summary>A team of its own, not the shared one: for a test that must not find the team busy with another caller.</summary>
    internal KernelWorkers(int threads)
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
    /// Runs body(0..parts-1) on the calling thread and the team, each part once, and returns when all are done. While
    /// another thread (another model) has the team, the caller runs every part itself.
    /// </summary>
    public void Run(int parts, Action<int> body)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(parts);
        if (Interlocked.CompareExchange(ref busy, 1, 0) != 0)
        {
            for (int part = 0; part < parts; part++) body(part);
            return;
        }
        try { RunShared(new Job(body, parts)); }
        finally { Volatile.Write(ref busy, 0); }
    }

    void RunShared(Job job)
    {
        Volatile.Write(ref current, job);
        for (int i = 0; i < Math.Min(workers.Length, job.Parts - 1); i++) workers[i].Start();
        job.Work();
        var spin = new SpinWait();
        while (Volatile.Read(ref job.Done) < job.Parts) spin.SpinOnce(sleep1Threshold: -1); // parts others claimed and still run
        if (job.Failure is { } error) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(error).Throw(); // as if the caller had run it
    }

    /// <summary>Ends the team's threads (each after the job it may be running).</summary>
    internal void Stop()
    {
        foreach (var w in workers) w.Stop();
    }

    /// <summary>One Run's parts: claimed one at a time by whichever thread asks next. A worker woken late finds none left.</summary>
    sealed class Job(Action<int> body, int parts)
    {
        public readonly int Parts = parts;
        public int Done;
        public Exception? Failure;
        int next = -1;

        public void Work()
        {
            for (int part; (part = Interlocked.Increment(ref next)) < Parts;)
            {
                try { body(part); }
                catch (Exception e) { Interlocked.CompareExchange(ref Failure, e, null); }
                finally { Interlocked.Increment(ref Done); }
            }
        }
    }

    sealed class Worker
    {
        readonly KernelWorkers team;
        readonly SemaphoreSlim wake = new(0);
        int generation, sleeping;
        volatile bool stopped;

        public Worker(KernelWorkers team, int index)
        {
            this.team = team;
            new Thread(Loop) { IsBackground = true, Name = $"gmsa-kernel-{index}" }.Start();
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
                Volatile.Read(ref team.current)?.Work();
            }
        }
    }
}
