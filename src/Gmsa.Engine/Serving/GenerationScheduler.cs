using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Threading.Channels;
using Gmsa.Engine.Generation;

namespace Gmsa.Engine.Serving;

/// <summary>
/// Admission, queue and batching in front of one <see cref="LanguageModel"/>, in the spirit of TGI's
/// router and vLLM's scheduler, with static batches (a batch runs to its end before the next starts).
/// <list type="bullet">
/// <item><see cref="TryEnqueue"/> takes a slot without waiting; when all <see cref="SchedulerOptions.Capacity"/>
/// slots are held it refuses at once, so the caller can answer "too many requests" instead of queueing forever.</item>
/// <item>One loop owns the waiting list. It takes the oldest request and every waiting request that can share
/// its sampling settings (<see cref="BatchKey"/>), up to <see cref="SchedulerOptions.MaxBatchSize"/>, waits at most
/// <see cref="SchedulerOptions.BatchWindow"/> after the oldest arrived for more, and runs them as one left-padded
/// batch through <see cref="LanguageModel.CompleteAsync(IReadOnlyList{IReadOnlyList{int}}, SamplingOptions, Action{int, string}?, CancellationToken)"/>.
/// Requests queued while a batch runs form the next one.</item>
/// <item>A caller that cancels is dropped from the queue and gets its slot back at once; a running batch whose
/// callers have all gone is stopped.</item>
/// </list>
/// No ASP.NET types: the HTTP service and tests drive it alike.
/// </summary>
public sealed class GenerationScheduler : IAsyncDisposable, IDisposable
{
    readonly SemaphoreSlim slots;
    readonly Channel<ScheduledGeneration> arrivals = Channel.CreateUnbounded<ScheduledGeneration>(new UnboundedChannelOptions { SingleReader = true });
    readonly CancellationTokenSource stopping = new();
    readonly Task loop;
    int disposed;

    public GenerationScheduler(LanguageModel model, SchedulerOptions options)
    {
        options.Validate();
        Model = model;
        Options = options;
        slots = new SemaphoreSlim(options.Capacity, options.Capacity);
        loop = Task.Run(RunAsync);
    }

    public LanguageModel Model { get; }
    public SchedulerOptions Options { get; }

    /// <summary>Raised on the scheduler's loop after each batch that produced output, before its requests complete.</summary>
    public event Action<BatchReport>? BatchCompleted;

    /// <summary>Requests admitted and not yet finished (queued or generating).</summary>
    public int InFlight => Options.Capacity - slots.CurrentCount;

    /// <summary>
    /// Queues <paramref name="request"/> when a slot is free; false, without waiting, when none is.
    /// <paramref name="cancellation"/> (the client going away) drops the request wherever it is.
    /// </summary>
    /// <exception cref="ArgumentException">the request cannot run on this model (validate before calling)</exception>
    public bool TryEnqueue(GenerationRequest request, CancellationToken cancellation, [NotNullWhen(true)] out ScheduledGeneration? generation)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref disposed) != 0, this);
        request.Validate(Model.Model.Config.ContextLength);
        generation = null;
        if (!slots.Wait(0)) return false;
        generation = new ScheduledGeneration(request, () => slots.Release(), cancellation);
        if (!arrivals.Writer.TryWrite(generation))
            generation.Fail(new ObjectDisposedException(nameof(GenerationScheduler), "the scheduler is shutting down"));
        return true;
    }

    async Task RunAsync()
    {
        var waiting = new List<ScheduledGeneration>(); // arrived and not yet batched, oldest first
        try
        {
            while (waiting.Count > 0 || await arrivals.Reader.WaitToReadAsync(stopping.Token))
            {
                Drain(waiting);
                waiting.RemoveAll(g => g.IsFinished);
                if (waiting.Count == 0) continue;
                var batch = await AssembleAsync(waiting);
                if (batch.Count > 0) await RunBatchAsync(batch);
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested) { }
        finally
        {
            Drain(waiting);
            var error = new ObjectDisposedException(nameof(GenerationScheduler), "the scheduler is shutting down");
            foreach (var g in waiting) g.Fail(error);
        }
    }

    void Drain(List<ScheduledGeneration> into)
    {
        while (arrivals.Reader.TryRead(out var g)) into.Add(g);
    }

    /// <summary>The oldest waiting request and its batch mates; while there is room, waits for more until the window closes.</summary>
    async Task<List<ScheduledGeneration>> AssembleAsync(List<ScheduledGeneration> waiting)
    {
        var oldest = waiting[0];
        var key = BatchKey.Of(oldest.Request.Sampling);
        var batch = new List<ScheduledGeneration>(Options.MaxBatchSize);
        TakeMatching(waiting, key, batch);
        while (batch.Count < Options.MaxBatchSize)
        {
            var left = Options.BatchWindow - Stopwatch.GetElapsedTime(oldest.EnqueuedAt);
            if (left <= TimeSpan.Zero || !await WaitForArrivalAsync(left)) break;
            Drain(waiting);
            TakeMatching(waiting, key, batch);
        }
        batch.RemoveAll(g => g.IsFinished);
        return batch;
    }

    void TakeMatching(List<ScheduledGeneration> waiting, BatchKey key, List<ScheduledGeneration> batch)
    {
        for (int i = 0; i < waiting.Count && batch.Count < Options.MaxBatchSize;)
        {
            var g = waiting[i];
            if (g.IsFinished || BatchKey.Of(g.Request.Sampling) == key)
            {
                waiting.RemoveAt(i);
                if (!g.IsFinished) batch.Add(g);
            }
            else i++;
        }
    }

    /// <returns>true when something arrived, false when <paramref name="timeout"/> passed or the queue closed</returns>
    async Task<bool> WaitForArrivalAsync(TimeSpan timeout)
    {
        using var timer = CancellationTokenSource.CreateLinkedTokenSource(stopping.Token);
        timer.CancelAfter(timeout);
        try { return await arrivals.Reader.WaitToReadAsync(timer.Token); }
        catch (OperationCanceledException) when (!stopping.IsCancellationRequested) { return false; }
    }

    async Task RunBatchAsync(List<ScheduledGeneration> batch)
    {
        long startedAt = Stopwatch.GetTimestamp();
        var waits = batch.Select(g => Stopwatch.GetElapsedTime(g.EnqueuedAt, startedAt)).ToArray();
        using var abandoned = CancellationTokenSource.CreateLinkedTokenSource(stopping.Token);
        int present = batch.Count;
        var registrations = batch.Select(g => g.Cancellation.Register(() =>
        {
            if (Interlocked.Decrement(ref present) == 0) abandoned.Cancel(); // nobody is listening any more
        })).ToArray();
        try
        {
            var completion = await Model.CompleteAsync(batch.Select(g => g.Request.PromptTokens).ToArray(),
                batch[0].Request.Sampling, (row, piece) => batch[row].Write(piece), abandoned.Token);
            var result = completion.Result;
            Report(new BatchReport(batch.Count, waits, result.Prefill, result.Decode, result.PromptTokens,
                result.GeneratedTokens, result.DecodeTokensPerSecond));
            // Every unfinished row gets one token per step, so a row's rate is the batch's step rate.
            int steps = result.Sequences.Max(s => s.Tokens.Count);
            double rowRate = result.Decode > TimeSpan.Zero ? steps / result.Decode.TotalSeconds : 0;
            for (int row = 0; row < batch.Count; row++)
            {
                var sequence = result.Sequences[row];
                if (sequence.Reason == FinishReason.Cancelled)
                {
                    batch[row].Fail(new OperationCanceledException("generation was stopped"));
                    continue;
                }
                batch[row].Complete(new GenerationOutcome(completion.Texts[row], sequence.Reason, batch[row].Request.PromptTokens.Count,
                    sequence.Tokens.Count, waits[row], result.Prefill, rowRate, batch.Count));
            }
        }
        catch (Exception error)
        {
            foreach (var g in batch) g.Fail(error);
        }
        finally
        {
            foreach (var r in registrations) r.Dispose();
        }
    }

    /// <summary>Raised before the batch's requests complete, so whoever sees an outcome also finds its batch reported.</summary>
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
