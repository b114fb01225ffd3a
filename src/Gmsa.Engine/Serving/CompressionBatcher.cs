using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Threading.Channels;
using Gmsa.Engine.Compression;

namespace Gmsa.Engine.Serving;

/// <summary>How many contexts the compression batcher holds and how it groups them.</summary>
public sealed record CompressionBatcherOptions
{
    /// <summary>Contexts admitted and not yet compressed; one more is refused at once.</summary>
    public int Capacity { get; init; } = 256;
    /// <summary>Contexts in one encoder call.</summary>
    public int MaxBatchContexts { get; init; } = 32;
    /// <summary>Context tokens in one encoder call (the first context of a batch is taken whatever its length).</summary>
    public int MaxBatchTokens { get; init; } = 16384;
    /// <summary>How long the first queued context waits for company before its batch starts.</summary>
    public TimeSpan MaxWait { get; init; } = TimeSpan.FromMilliseconds(5);

    public void Validate()
    {
        if (Capacity < 1 || MaxBatchContexts < 1 || MaxBatchTokens < 1) throw new ArgumentException("compression capacity, batch contexts and batch tokens must be >= 1");
        if (MaxWait < TimeSpan.Zero) throw new ArgumentException($"max wait must be >= 0, got {MaxWait}");
    }
}

/// <summary>
/// Puts contexts that arrive together through the compressor as one batched encoder call
/// (<see cref="GmsaModel.CompressToDataAsync"/>): up to <see cref="CompressionBatcherOptions.MaxBatchContexts"/> contexts
/// or <see cref="CompressionBatcherOptions.MaxBatchTokens"/> tokens, waiting at most
/// <see cref="CompressionBatcherOptions.MaxWait"/> after the first. Admission never waits: a full queue refuses.
/// </summary>
public sealed class CompressionBatcher : IAsyncDisposable
{
    sealed record Pending(IReadOnlyList<int> Context, int Rate, TaskCompletionSource<SoftTokenData> Done, CancellationToken Cancellation, long QueuedAt)
    {
        public ActivityContext Parent { get; } = Activity.Current?.Context ?? default;   // the request that asked
    }

    readonly GmsaModel model;
    readonly SemaphoreSlim slots;
    readonly Channel<Pending> arrivals = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });
    readonly CancellationTokenSource stopping = new();
    readonly Task loop;

    public CompressionBatcher(GmsaModel model, CompressionBatcherOptions options)
    {
        options.Validate();
        this.model = model;
        Options = options;
        slots = new SemaphoreSlim(options.Capacity, options.Capacity);
        loop = Task.Run(RunAsync);
    }

    public CompressionBatcherOptions Options { get; }

    /// <summary>Contexts admitted and not yet compressed.</summary>
    public int Queued => Options.Capacity - slots.CurrentCount;

    /// <summary>Raised after each encoder call with its number of contexts and its duration.</summary>
    public event Action<int, TimeSpan>? BatchCompressed;

    /// <summary>Queues a context when there is room; false, without waiting, when the queue is full.</summary>
    public bool TryEnqueue(IReadOnlyList<int> context, int rate, CancellationToken cancellation, [NotNullWhen(true)] out Task<SoftTokenData>? result)
    {
        model.CheckRate(rate);
        if (context.Count == 0) throw new ArgumentException("the context is empty");
        result = null;
        if (!slots.Wait(0)) return false;
        var done = new TaskCompletionSource<SoftTokenData>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!arrivals.Writer.TryWrite(new Pending(context, rate, done, cancellation, Stopwatch.GetTimestamp())))
        {
            slots.Release();
            throw new ObjectDisposedException(nameof(CompressionBatcher));
        }
        result = done.Task;
        return true;
    }

    async Task RunAsync()
    {
        var waiting = new List<Pending>();
        try
        {
            while (waiting.Count > 0 || await arrivals.Reader.WaitToReadAsync(stopping.Token))
            {
                while (arrivals.Reader.TryRead(out var p)) waiting.Add(p);
                var left = Options.MaxWait - Stopwatch.GetElapsedTime(waiting[0].QueuedAt);
                if (waiting.Count < Options.MaxBatchContexts && left > TimeSpan.Zero)
                {
                    using var timer = CancellationTokenSource.CreateLinkedTokenSource(stopping.Token);
                    timer.CancelAfter(left);
                    try { await arrivals.Reader.WaitToReadAsync(timer.Token); }
                    catch (OperationCanceledException) when (!stopping.IsCancellationRequested) { }
                    while (arrivals.Reader.TryRead(out var p)) waiting.Add(p);
                }
                var batch = Take(waiting);
                if (batch.Count > 0) await CompressAsync(batch);
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested) { }
        finally
        {
            while (arrivals.Reader.TryRead(out var p)) waiting.Add(p);
            foreach (var p in waiting) Settle(p, () => p.Done.TrySetException(new ObjectDisposedException(nameof(CompressionBatcher))));
        }
    }

    /// <summary>The oldest contexts within the batch limits; contexts whose caller went away are dropped.</summary>
    List<Pending> Take(List<Pending> waiting)
    {
        var batch = new List<Pending>();
        long tokens = 0;
        for (int i = 0; i < waiting.Count && batch.Count < Options.MaxBatchContexts;)
        {
            var p = waiting[i];
            if (p.Cancellation.IsCancellationRequested)
            {
                waiting.RemoveAt(i);
                Settle(p, () => p.Done.TrySetCanceled(p.Cancellation));
                continue;
            }
            if (batch.Count > 0 && tokens + p.Context.Count > Options.MaxBatchTokens) break;
            tokens += p.Context.Count;
            batch.Add(p);
            waiting.RemoveAt(i);
        }
        return batch;
    }

    async Task CompressAsync(List<Pending> batch)
    {
        var clock = Stopwatch.StartNew();
        // One encoder call serves several requests: a span of its own, linked to each of them.
        using var span = ServingTelemetry.Begin("gmsa.compress", default, DateTimeOffset.UtcNow,
            batch.Where(p => p.Parent != default).Select(p => new ActivityLink(p.Parent)).ToArray());
        span?.SetTag("gmsa.contexts", batch.Count).SetTag("gmsa.context_tokens", batch.Sum(p => p.Context.Count));
        try
        {
            var soft = await model.CompressToDataAsync(batch.Select(p => p.Context).ToArray(), batch.Select(p => p.Rate).ToArray());
            try { BatchCompressed?.Invoke(batch.Count, clock.Elapsed); } catch (Exception) { } // metrics must not fail requests
            for (int i = 0; i < batch.Count; i++) Settle(batch[i], () => batch[i].Done.TrySetResult(soft[i]));
        }
        catch (Exception error)
        {
            foreach (var p in batch) Settle(p, () => p.Done.TrySetException(error));
        }
    }

    void Settle(Pending p, Action settle)
    {
        slots.Release();
        settle();
    }

    public async ValueTask DisposeAsync()
    {
        stopping.Cancel();
        arrivals.Writer.TryComplete();
        await loop.ConfigureAwait(false);
    }
}
