using System.ComponentModel.DataAnnotations;
using Gmsa.Engine.Serving;

namespace Gmsa.Api.Options;

/// <summary>The compressor the service loads and how compression is batched and cached (section <c>Gmsa:Compression</c>).</summary>
public sealed class CompressionOptions
{
    public const string Section = "Gmsa:Compression";

    /// <summary>Compressor folder; empty: the model folder's <c>compressor/</c> when it has one; <c>none</c>: compression off.</summary>
    public string? Compressor { get; set; }

    /// <summary>
    /// Whether a compressor's restate adapter is folded into weights of its own at start-up, as the answer adapter always
    /// is: restating then decodes as fast as answering, for one more copy of the decoder blocks' projection weights in
    /// memory. False keeps it unfolded (memory of its rank; restating decodes several times slower).
    /// </summary>
    public bool FoldRestateAdapter { get; set; } = true;

    /// <summary>Longest context accepted, in tokens (contexts are cut into segments, so this bounds work, not the window).</summary>
    [Range(1, 10_000_000)]
    public int MaxContextTokens { get; set; } = 65_536;

    /// <summary>Contexts admitted for compression and not yet compressed; one more is answered 429.</summary>
    [Range(1, 100_000)]
    public int MaxQueuedContexts { get; set; } = 256;

    /// <summary>Contexts in one encoder call.</summary>
    [Range(1, 4096)]
    public int MaxBatchContexts { get; set; } = 32;

    /// <summary>Context tokens in one encoder call.</summary>
    [Range(1, 10_000_000)]
    public int MaxBatchTokens { get; set; } = 16_384;

    /// <summary>How long the first queued context waits for company before its encoder call starts.</summary>
    [Range(0, 10_000)]
    public int MaxWaitMilliseconds { get; set; } = 5;

    /// <summary>
    /// A Redis connection string (StackExchange.Redis syntax, e.g. "localhost:6379"): when set, the cache's second level
    /// lives there, so replicas share compressed contexts; empty keeps the cache in process.
    /// </summary>
    public string? Redis { get; set; }

    /// <summary>How long compressed contexts stay cached (their compressed_id answers) after they were made.</summary>
    [Range(1, 10_000_000)]
    public int CacheSeconds { get; set; } = 3600;

    /// <summary>
    /// Largest /v1/compress answer, estimated from the contexts' tokens, the rate and the format before compressing: past
    /// it the request is refused with what would fit (a 65k-token context at rate 1 in JSON is about 250 MB on gmsa-tiny,
    /// 2.7 GB on a 4096-wide model). The default fits every context of MaxContextTokens on gmsa-tiny at its lowest rate.
    /// </summary>
    [Range(1024, long.MaxValue)]
    public long MaxResponseBytes { get; set; } = 64L << 20;

    /// <summary>Largest soft-token payload the cache keeps, in bytes; a larger one is compressed and returned but not cached.</summary>
    [Range(1024, int.MaxValue)]
    public int MaxCachedBytes { get; set; } = 16 << 20;

    /// <summary>
    /// Bytes of soft tokens the in-process cache holds in all; past it, the least recently used are evicted (the
    /// distributed level, when configured, keeps its own bound: Redis's maxmemory).
    /// </summary>
    [Range(1024, long.MaxValue)]
    public long CacheBytes { get; set; } = 512L << 20;

    /// <summary>
    /// A label for the loaded weights (a release tag, a training run's name): set, it stands in compressed ids for the
    /// SHA-256 of the weight files, which start-up then skips (one pass over the files; seconds for a multi-GB model).
    /// Every replica serving the same weights must carry the same label, and new weights a new one.
    /// </summary>
    [RegularExpression(@"^[\x21-\x7E]{1,128}$", ErrorMessage = "WeightsVersion is 1 to 128 printable ASCII characters without spaces")]
    public string? WeightsVersion { get; set; }

    /// <summary>
    /// The share of <see cref="CacheBytes"/> a full in-process cache frees at once. The memory cache drops an entry that
    /// does not fit and then frees down to (1 - share) of the bound, so a payload larger than the share would be dropped
    /// on every try once the cache is full: the share is at least the largest cacheable payload's (and the library's 5 %).
    /// </summary>
    public double CompactionShare => Math.Clamp((double)MaxCachedBytes / CacheBytes, 0.05, 1.0);

    public CompressionBatcherOptions ToBatcher() => new()
    {
        Capacity = MaxQueuedContexts,
        MaxBatchContexts = MaxBatchContexts,
        MaxBatchTokens = MaxBatchTokens,
        MaxWait = TimeSpan.FromMilliseconds(MaxWaitMilliseconds),
    };
}
