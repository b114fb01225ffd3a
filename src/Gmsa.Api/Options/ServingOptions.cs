using System.ComponentModel.DataAnnotations;
using Gmsa.Engine.Serving;

namespace Gmsa.Api.Options;

/// <summary>Admission, batching and request limits (configuration section <c>Gmsa:Serving</c>).</summary>
public sealed class ServingOptions
{
    public const string Section = "Gmsa:Serving";

    /// <summary>Completions admitted at once, waiting or generating; one more is answered 429 at once.</summary>
    [Range(1, 100_000)]
    public int MaxQueuedRequests { get; set; } = 64;

    /// <summary>Sequences decoding together; a request that arrives while they run joins at the next step when there is room.</summary>
    [Range(1, 256)]
    public int MaxBatchSize { get; set; } = 16;

    /// <summary>Continuous (requests join and leave the running batch at every step) or Static (a batch runs to its end).</summary>
    public BatchingPolicy Batching { get; set; } = BatchingPolicy.Continuous;

    /// <summary>Prompt positions prefilled between two decode steps, so a long prompt delays the running sequences by one chunk at most.</summary>
    [Range(1, 1_000_000)]
    public int PrefillChunkTokens { get; set; } = 256;

    /// <summary>Static batching only: how long the oldest queued request waits for batch mates; 0 starts at once.</summary>
    [Range(0, 10_000)]
    public int BatchWindowMilliseconds { get; set; } = 5;

    /// <summary>The largest max_tokens a request may ask for.</summary>
    [Range(1, 1_000_000)]
    public int MaxNewTokens { get; set; } = 512;

    /// <summary>max_tokens when a request leaves it out (shortened to what the context still holds).</summary>
    [Range(1, 1_000_000)]
    public int DefaultMaxTokens { get; set; } = 128;

    /// <summary>The longest prompt accepted, in tokens (the model's context may be the tighter limit).</summary>
    [Range(1, 10_000_000)]
    public int MaxPromptTokens { get; set; } = 2048;

    /// <summary>The Retry-After header sent with 429.</summary>
    [Range(1, 3600)]
    public int RetryAfterSeconds { get; set; } = 1;

    /// <summary>Largest request body, in bytes; larger ones get 413.</summary>
    [Range(1024, 64L << 20)]
    public long MaxRequestBodyBytes { get; set; } = 1 << 20;

    /// <summary>
    /// Bytes of decoder keys and values kept over soft-token prefixes, so a follow-up question on a compressed context
    /// (a <c>compressed_id</c> or the same documents again) prefills its own tokens only; 0 turns it off.
    /// </summary>
    [Range(0, 1L << 40)]
    public long SoftPrefixCacheBytes { get; set; } = 64L << 20;

    /// <summary>
    /// Prompts prefilling together are read by one packed forward (end to end, no padding) instead of one forward each:
    /// more throughput when requests arrive together. On CPU each prompt still gets exactly what it gets alone.
    /// </summary>
    public bool BatchedPrefill { get; set; } = true;

    public SchedulerOptions ToScheduler() => new()
    {
        Capacity = MaxQueuedRequests,
        MaxBatchSize = MaxBatchSize,
        Policy = Batching,
        PrefillChunkTokens = PrefillChunkTokens,
        BatchWindow = TimeSpan.FromMilliseconds(BatchWindowMilliseconds),
        SoftPrefixCacheBytes = SoftPrefixCacheBytes,
        BatchedPrefill = BatchedPrefill,
    };
}
