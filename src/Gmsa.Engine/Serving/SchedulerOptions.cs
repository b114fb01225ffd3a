namespace Gmsa.Engine.Serving;

/// <summary>When waiting requests may join the sequences already decoding.</summary>
public enum BatchingPolicy
{
    /// <summary>At every step: a new request is prefilled and decodes with the others at the next step; a finished one leaves at once.</summary>
    Continuous,
    /// <summary>Only when every running sequence has finished: a batch runs to its end, and requests queued meanwhile form the next one.</summary>
    Static,
}

/// <summary>How many requests the scheduler holds and how it batches them.</summary>
public sealed record SchedulerOptions
{
    /// <summary>Requests admitted and not yet finished (queued or generating); one more is refused at once.</summary>
    public int Capacity { get; init; } = 64;

    /// <summary>Sequences decoding together (prefilling ones included).</summary>
    public int MaxBatchSize { get; init; } = 16;

    public BatchingPolicy Policy { get; init; } = BatchingPolicy.Continuous;

    /// <summary>
    /// Each decoding sequence keeps its keys and values in a slot of its own (<see cref="Generation.RowSlotCache"/>) where
    /// the CPU decode step runs the model, so a join or a leave copies no other sequence. False keeps one left-padded
    /// cache for the batch, copied whole at every join and leave (the layout before; `gmsa bench serve` measures both).
    /// </summary>
    public bool RowSlots { get; init; } = true;

    /// <summary>
    /// The chunks prefilled in one iteration (within <see cref="PrefillChunkTokens"/> positions) are read by one packed
    /// forward per adapter (<see cref="PackedPrefill"/>) instead of one forward each: more throughput when prompts arrive
    /// together. Either way each prompt gets, on CPU, the keys and logits of its prefill alone; false is for comparisons.
    /// </summary>
    public bool BatchedPrefill { get; init; } = true;

    /// <summary>
    /// Prompt positions prefilled between two decode steps: a long prompt is read in chunks of this size, so the
    /// running sequences wait at most one chunk for their next token.
    /// </summary>
    public int PrefillChunkTokens { get; init; } = 256;

    /// <summary>
    /// Static batching only: how long a new batch may wait for company after its oldest request was queued. Zero starts
    /// with whatever is queued; continuous batching never waits, since later arrivals join at the next step.
    /// </summary>
    public TimeSpan BatchWindow { get; init; } = TimeSpan.FromMilliseconds(5);

    /// <summary>
    /// Bytes of decoder keys and values kept over soft-token prefixes (<see cref="SoftPrefixCache"/>), so a follow-up
    /// question on a compressed context prefills only its own tokens; 0 turns it off. gmsa-tiny takes 0.79 MB (12 layers x keys and values x 2 heads x 64) for the
    /// 128 soft tokens of a 1,024-token context at 8x.
    /// </summary>
    public long SoftPrefixCacheBytes { get; init; } = 64L << 20;

    public void Validate()
    {
        if (Capacity < 1) throw new ArgumentException($"capacity must be >= 1, got {Capacity}");
        if (MaxBatchSize < 1) throw new ArgumentException($"max batch size must be >= 1, got {MaxBatchSize}");
        if (PrefillChunkTokens < 1) throw new ArgumentException($"prefill chunk must be >= 1 token, got {PrefillChunkTokens}");
        if (BatchWindow < TimeSpan.Zero) throw new ArgumentException($"batch window must be >= 0, got {BatchWindow}");
        if (SoftPrefixCacheBytes < 0) throw new ArgumentException($"soft-prefix cache must be >= 0 bytes, got {SoftPrefixCacheBytes}");
    }
}
