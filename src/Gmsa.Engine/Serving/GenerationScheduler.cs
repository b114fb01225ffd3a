using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Threading.Channels;
using Gmsa.Engine.Generation;
using Gmsa.Engine.Model;

namespace Gmsa.Engine.Serving;

/// <summary>
/// Admission, queue and continuous batching in front of one <see cref="LanguageModel"/>, after TGI's router and vLLM's
/// scheduler:
/// <list type="bullet">
/// <item><see cref="TryEnqueue"/> takes a slot without waiting; when all <see cref="SchedulerOptions.Capacity"/> slots are
/// held it refuses at once, so the caller can answer "too many requests" instead of queueing forever.</item>
/// <item>Each iteration, on the model's thread: sequences whose caller went away leave; waiting requests start their
/// prefill while there is room (<see cref="SchedulerOptions.MaxBatchSize"/>; with <see cref="BatchingPolicy.Static"/> only
/// once the batch has emptied); up to <see cref="SchedulerOptions.PrefillChunkTokens"/> prompt positions are prefilled; a
/// finished prefill samples its first token and joins the running batch; then one decode step advances every running
/// sequence and the finished ones leave. Requests with different lengths, limits and sampling settings share steps;
/// each has its own sampler and generator, so its tokens do not depend on its batch mates.</item>
/// <item>Plain completions and answers over soft tokens (<see cref="GenerationRequest.SoftPrefix"/>) are both served;
/// those that run with the decoder's adapters on decode in a batch of their own, alternating steps with the other.</item>
/// </list>
/// No ASP.NET types: the HTTP service, benchmarks and tests drive it alike.
/// </summary>
public sealed class GenerationScheduler : IAsyncDisposable, IDisposable
{
    readonly SemaphoreSlim slots;
    readonly Channel<ScheduledGeneration> arrivals = Channel.CreateUnbounded<ScheduledGeneration>(new UnboundedChannelOptions { SingleReader = true });
    readonly CancellationTokenSource stopping = new();
    readonly Task loop;
    // Touched by the loop and, while it awaits an iteration, by that iteration on the model thread: never at once.
    readonly List<ScheduledGeneration> waiting = [];
    readonly List<PrefillJob> prefilling = [];
    readonly List<RunningBatch> batches = [];
    readonly List<(ScheduledGeneration Generation, GenerationOutcome Outcome)> finishing = [];   // settled after the iteration's report
    readonly SoftPrefixCache? prefixes;
    int disposed;

    public GenerationScheduler(LanguageModel model, SchedulerOptions options)
    {
        options.Validate();
        Model = model;
        Options = options;
        slots = new SemaphoreSlim(options.Capacity, options.Capacity);
        prefixes = options.SoftPrefixCacheBytes > 0 ? new SoftPrefixCache(options.SoftPrefixCacheBytes) : null;
        loop = Task.Run(RunAsync);
    }

    public LanguageModel Model { get; }
    public SchedulerOptions Options { get; }

    /// <summary>Raised on the scheduler's loop after each iteration that did work, before the requests it finished complete.</summary>
    public event Action<BatchReport>? BatchCompleted;

    /// <summary>The decoder's keys and values over soft-token prefixes already read; null when turned off.</summary>
    public SoftPrefixCache? SoftPrefixes => prefixes;

    /// <summary>Requests admitted and not yet finished (queued, prefilling or decoding).</summary>
    public int InFlight => Options.Capacity - slots.CurrentCount;

    /// <summary>
    /// Queues <paramref name="request"/> when a slot is free; false, without waiting, when none is.
    /// <paramref name="cancellation"/> (the client going away) drops the request wherever it is.
    /// </summary>
    /// <exception cref="ArgumentException">the request cannot run on this model (validate before calling)</exception>
    public bool TryEnqueue(GenerationRequest request, CancellationToken cancellation, [NotNullWhen(true)] out ScheduledGeneration? generation)
    {
        request.Validate(Model.Model.Config.ContextLength);
        generation = null;
        if (!TryReserve(out var slot)) return false;
        generation = Enqueue(slot, request, cancellation);
        return true;
    }

    /// <summary>
    /// Takes an admission slot before the request exists, so costly preparation (tokenizing a long prompt) happens only
    /// for requests that will run: a full scheduler refuses before any of that work. Dispose the slot if no request follows.
    /// </summary>
    public bool TryReserve([NotNullWhen(true)] out AdmissionSlot? slot)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref disposed) != 0, this);
        slot = slots.Wait(0) ? new AdmissionSlot(() => slots.Release()) : null;
        return slot is not null;
    }

    /// <summary>Queues <paramref name="request"/> on a reserved slot; an invalid request gives the slot back and throws.</summary>
    /// <exception cref="ArgumentException">the request cannot run on this model</exception>
    public ScheduledGeneration Enqueue(AdmissionSlot slot, GenerationRequest request, CancellationToken cancellation)
    {
        try { request.Validate(Model.Model.Config.ContextLength); }
        catch
        {
            slot.Dispose();
            throw;
        }
        var generation = new ScheduledGeneration(request, slot.TakeRelease(), cancellation);
        if (!arrivals.Writer.TryWrite(generation))
            generation.Fail(new ObjectDisposedException(nameof(GenerationScheduler), "the scheduler is shutting down"));
        return generation;
    }

    int Active => prefilling.Count + batches.Sum(b => b.Count);

    async Task RunAsync()
    {
        try
        {
            while (true)
            {
                if (Active == 0 && waiting.Count == 0 && !await arrivals.Reader.WaitToReadAsync(stopping.Token)) break;
                Drain();
                if (Active == 0 && Options.Policy == BatchingPolicy.Static) await WaitForCompanyAsync();
                var report = await Model.Runner.RunAsync(Iterate);
                if (report is not null) Report(report);
                Settle();
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested) { }
        finally
        {
            Settle();
            Drain();
            var error = new ObjectDisposedException(nameof(GenerationScheduler), "the scheduler is shutting down");
            foreach (var g in waiting) g.Fail(error);
            waiting.Clear();
            await Model.Runner.RunAsync(() =>
            {
                FailActive(error);
                prefixes?.Dispose();
            });
        }
    }

    /// <summary>Completes the requests the last iteration finished, once its report is out (see <see cref="BatchCompleted"/>).</summary>
    void Settle()
    {
        foreach (var (generation, outcome) in finishing) generation.Complete(outcome);
        finishing.Clear();
    }

    void Drain()
    {
        while (arrivals.Reader.TryRead(out var g)) waiting.Add(g);
    }

    /// <summary>Static batching: a new batch waits for more requests until it is full or the window after its oldest closes.</summary>
    async Task WaitForCompanyAsync()
    {
        waiting.RemoveAll(g => g.IsFinished);
        while (waiting.Count is > 0 && waiting.Count < Options.MaxBatchSize)
        {
            var left = Options.BatchWindow - Stopwatch.GetElapsedTime(waiting[0].EnqueuedAt);
            if (left <= TimeSpan.Zero) return;
            using var timer = CancellationTokenSource.CreateLinkedTokenSource(stopping.Token);
            timer.CancelAfter(left);
            try { if (!await arrivals.Reader.WaitToReadAsync(timer.Token)) return; }
            catch (OperationCanceledException) when (!stopping.IsCancellationRequested) { return; }
            Drain();
        }
    }

    /// <summary>One iteration on the model thread; null when there was nothing to do.</summary>
    BatchReport? Iterate()
    {
        try
        {
            Leave(g => g.IsFinished);
            var waits = Admit();
            var clock = Stopwatch.StartNew();
            var (prefilled, firstTokens, forwards) = PrefillChunk();
            var prefill = clock.Elapsed;
            clock.Restart();
            int decoded = 0;
            foreach (var batch in batches.Where(b => b.Count > 0).ToArray()) decoded += Decode(batch);
            var decode = clock.Elapsed;
            return waits.Count + prefilled + decoded == 0 ? null
                : new BatchReport(decoded, waits, prefill, decode, prefilled, decoded + firstTokens, forwards);
        }
        catch (Exception error)
        {
            FailActive(error); // a failed forward fails the sequences it carried; the scheduler goes on
            return null;
        }
    }

    void Leave(Func<ScheduledGeneration, bool> gone)
    {
        waiting.RemoveAll(g => gone(g));
        foreach (var job in prefilling.Where(j => gone(j.Row.Generation)).ToArray())
        {
            job.Row.Abandon();
            job.Dispose();
            prefilling.Remove(job);
        }
        foreach (var batch in batches)
            batch.RemoveWhere(r =>
            {
                if (!gone(r.Generation)) return false;
                r.Abandon();
                return true;
            });
    }

    /// <summary>Starts prefills for waiting requests while the batch has room; returns their queue waits.</summary>
    List<TimeSpan> Admit()
    {
        var waits = new List<TimeSpan>();
        if (Options.Policy == BatchingPolicy.Static && Active > 0) return waits;
        while (waiting.Count > 0 && Active < Options.MaxBatchSize)
        {
            var g = waiting[0];
            waiting.RemoveAt(0);
            var row = new SequenceRow(g, Model.WithModelStops(g.Request.Sampling), Model.Tokenizer, Model.Model.Device)
            {
                QueueWait = Stopwatch.GetElapsedTime(g.EnqueuedAt),
            };
            waits.Add(row.QueueWait);
            row.PrefillStarted();
            prefilling.Add(new PrefillJob(Model.Model, row, prefixes));
        }
        return waits;
    }

    /// <summary>
    /// Prefills up to <see cref="SchedulerOptions.PrefillChunkTokens"/> prompt positions: each job's next chunk, oldest
    /// first, while it fits (the oldest's always does), read in one packed forward per adapter, or one forward per job
    /// without <see cref="SchedulerOptions.BatchedPrefill"/>. Finished prefills sample their first token and join.
    /// </summary>
    (int Positions, int FirstTokens, int Forwards) PrefillChunk()
    {
        int budget = Options.PrefillChunkTokens, positions = 0, firstTokens = 0, forwards = 0;
        var chunks = new List<(PrefillJob Job, int N)>();
        foreach (var job in prefilling)
        {
            int n = job.NextChunk(Options.PrefillChunkTokens);
            if (n > budget) continue;
            chunks.Add((job, n));
            budget -= n;
        }
        var forwardsToRun = Options.BatchedPrefill
            ? chunks.GroupBy(c => c.Job.Row.Request.DecoderAdapter).Select(g => g.ToList())
            : chunks.Select(c => new List<(PrefillJob Job, int N)> { c });
        foreach (var together in forwardsToRun)
        {
            using (WithAdapter(together[0].Job.Row.Request.DecoderAdapter))
            {
                PackedPrefill.Run(Model.Model, together);
                forwards++;
                foreach (var (job, n) in together)
                {
                    positions += n;
                    if (!job.Finished) continue;
                    firstTokens++;
                    Finish(job);
                }
            }
        }
        return (positions, firstTokens, forwards);
    }

    /// <summary>A prefilled job's first token; the sequence ends there or joins its running batch (under its adapter, which the caller switched on).</summary>
    void Finish(PrefillJob job)
    {
        job.Row.Prefill = Stopwatch.GetElapsedTime(job.Row.Generation.EnqueuedAt) - job.Row.QueueWait;
        if (job.Row.Accept(job.Row.Sample(job.LastLogits))) finishing.Add((job.Row.Generation, job.Row.Finish()));
        else BatchFor(job.Row.Request.DecoderAdapter).Join(job);
        prefilling.Remove(job);
        job.Dispose();
    }

    RunningBatch BatchFor(string? adapter)
    {
        var batch = batches.FirstOrDefault(b => b.DecoderAdapter == adapter);
        if (batch is null) batches.Add(batch = new RunningBatch(Model.Model, adapter, Options.MaxBatchSize, Options.RowSlots));
        return batch;
    }

    /// <summary>One step of one running batch; returns the rows it advanced.</summary>
    int Decode(RunningBatch batch)
    {
        int[] chosen;
        using (WithAdapter(batch.DecoderAdapter)) chosen = batch.Step();
        var rows = batch.Rows;
        for (int r = 0; r < rows.Count; r++)
        {
            rows[r].SharedStep(rows.Count);
            if (!rows[r].Generation.IsFinished && rows[r].Accept(chosen[r])) finishing.Add((rows[r].Generation, rows[r].Finish()));
        }
        batch.RemoveWhere(r => r.Reason is not null || r.Generation.IsFinished);
        return chosen.Length;
    }

    /// <summary>Switches the decoder's named LoRA adapter on for the scope when one is asked (they are off between iterations).</summary>
    Lora.AdapterScope? WithAdapter(string? adapter) => adapter is null ? null : Lora.Use(Model.Model, adapter);

    void FailActive(Exception error)
    {
        foreach (var job in prefilling)
        {
            job.Row.Abandon();
            job.Row.Generation.Fail(error);
            job.Dispose();
        }
        prefilling.Clear();
        foreach (var batch in batches)
        {
            foreach (var row in batch.Rows)
            {
                row.Abandon();
                row.Generation.Fail(error);
            }
            batch.Dispose();
        }
        batches.Clear();
    }

    /// <summary>Raised before the iteration's requests complete, so whoever sees an outcome also finds its step reported.</summary>
    void Report(BatchReport report)
    {
        try { BatchCompleted?.Invoke(report); }
        catch (Exception) { } // a faulty observer (metrics) must not fail the requests or stop the loop
    }

    /// <summary>Stops the loop; requests still queued or running fail with <see cref="ObjectDisposedException"/> or cancellation.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref disposed, 1) != 0) return;
        stopping.Cancel();
        arrivals.Writer.TryComplete();
        await loop.ConfigureAwait(false);
    }

    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();
}
