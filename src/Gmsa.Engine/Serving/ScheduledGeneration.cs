using System.Diagnostics;
using System.Threading.Channels;
using Gmsa.Engine.Generation;

namespace Gmsa.Engine.Serving;

/// <summary>
/// One admitted request as the scheduler's queue holds it and as its caller sees it: text pieces arrive
/// on <see cref="Text"/> while it is generated, and <see cref="Completion"/> ends with the whole outcome.
/// It finishes exactly once (completed, failed or cancelled) and gives its admission slot back then, so
/// a client that goes away frees its place at once even while its batch is still running.
/// </summary>
public sealed class ScheduledGeneration
{
    readonly Channel<string> pieces = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    readonly TaskCompletionSource<GenerationOutcome> done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    readonly Action releaseSlot;
    readonly CancellationTokenRegistration registration;
    int finished;

    internal ScheduledGeneration(GenerationRequest request, Action releaseSlot, CancellationToken cancellation)
    {
        Request = request;
        Cancellation = cancellation;
        this.releaseSlot = releaseSlot;
        // Registered last: an already cancelled token runs the callback here and then.
        registration = cancellation.Register(() => Finish(() =>
        {
            pieces.Writer.TryComplete(new OperationCanceledException(cancellation));
            done.TrySetCanceled(cancellation);
        }));
    }

    public GenerationRequest Request { get; }

    /// <summary>The continuation's text as it is produced; completes when generation ends (with the error, if any).</summary>
    public ChannelReader<string> Text => pieces.Reader;

    /// <summary>The final text, finish reason, token counts and timings; cancelled when the caller's token fires.</summary>
    public Task<GenerationOutcome> Completion => done.Task;

    internal CancellationToken Cancellation { get; }
    internal long EnqueuedAt { get; } = Stopwatch.GetTimestamp();
    /// <summary>The caller's span when it enqueued (the HTTP request's): the parent of the serving spans.</summary>
    internal ActivityContext Parent { get; } = Activity.Current?.Context ?? default;
    internal bool IsFinished => Volatile.Read(ref finished) != 0;

    internal void Write(string piece)
    {
        if (!IsFinished) pieces.Writer.TryWrite(piece);
    }

    internal void Complete(GenerationOutcome outcome) => Finish(() =>
    {
        pieces.Writer.TryComplete();
        done.TrySetResult(outcome);
    });

    internal void Fail(Exception error) => Finish(() =>
    {
        pieces.Writer.TryComplete(error);
        done.TrySetException(error);
    });

    void Finish(Action settle)
    {
        if (Interlocked.Exchange(ref finished, 1) != 0) return;
        registration.Unregister(); // not Dispose: that would wait for this very callback when cancelling
        releaseSlot();
        settle();
    }
}
