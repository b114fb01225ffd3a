namespace Gmsa.Engine.Serving;

/// <summary>How many requests the scheduler holds and how it groups them into batches.</summary>
public sealed record SchedulerOptions
{
    /// <summary>Requests admitted and not yet finished (queued or generating); one more is refused at once.</summary>
    public int Capacity { get; init; } = 64;

    /// <summary>Rows of one left-padded batch.</summary>
    public int MaxBatchSize { get; init; } = 8;

    /// <summary>
    /// How long a batch may wait for company after its oldest request was queued. Zero runs whatever is
    /// queued at once; a few milliseconds let near-simultaneous requests share one forward pass.
    /// </summary>
    public TimeSpan BatchWindow { get; init; } = TimeSpan.FromMilliseconds(5);

    public void Validate()
    {
        if (Capacity < 1) throw new ArgumentException($"capacity must be >= 1, got {Capacity}");
        if (MaxBatchSize < 1) throw new ArgumentException($"max batch size must be >= 1, got {MaxBatchSize}");
        if (BatchWindow < TimeSpan.Zero) throw new ArgumentException($"batch window must be >= 0, got {BatchWindow}");
    }
}
