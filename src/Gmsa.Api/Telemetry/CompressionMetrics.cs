using System.Diagnostics.Metrics;
using Gmsa.Api.Hosting;
using Gmsa.Engine.Compression;

namespace Gmsa.Api.Telemetry;

/// <summary>
/// Compression figures on the <see cref="GmsaTelemetry.MeterName"/> meter. Prometheus names:
/// gmsa_compression_duration_seconds (one encoder call), gmsa_compression_batch_size (contexts in it),
/// gmsa_compression_ratio and gmsa_compression_soft_tokens (per context), gmsa_compression_cache_requests_total
/// (result hit or miss), gmsa_compression_queued (contexts waiting for the encoder).
/// </summary>
public sealed class CompressionMetrics
{
    readonly Histogram<double> duration, ratio;
    readonly Histogram<int> batchSize, softTokens;
    readonly Counter<long> cache;

    public CompressionMetrics(IMeterFactory meterFactory, CompressionHost host)
    {
        var meter = meterFactory.Create(GmsaTelemetry.MeterName);
        duration = meter.CreateHistogram("gmsa.compression.duration", "s", "Time of one batched encoder call",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] });
        batchSize = meter.CreateHistogram("gmsa.compression.batch_size", "{context}", "Contexts compressed in one encoder call",
            advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [1, 2, 4, 8, 16, 32, 64, 128] });
        ratio = meter.CreateHistogram("gmsa.compression.ratio", "1", "Context tokens per soft token, per context",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [1, 2, 4, 8, 16, 32, 64] });
        softTokens = meter.CreateHistogram("gmsa.compression.soft_tokens", "{token}", "Soft tokens of one compressed context",
            advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [1, 4, 16, 64, 256, 1024, 4096] });
        cache = meter.CreateCounter<long>("gmsa.compression.cache.requests", "{request}", "Soft-token lookups by result (hit or miss)");
        if (host.Service is { } service)
        {
            meter.CreateObservableGauge("gmsa.compression.queued", () => service.Batcher.Queued, "{context}", "Contexts waiting for the encoder");
            service.Batcher.BatchCompressed += (contexts, elapsed) =>
            {
                batchSize.Record(contexts);
                duration.Record(elapsed.TotalSeconds);
            };
        }
    }

    /// <summary>One context's soft tokens were served: from the cache, or compressed now.</summary>
    public void Served(SoftTokenData soft, bool cached)
    {
        cache.Add(1, new KeyValuePair<string, object?>("result", cached ? "hit" : "miss"));
        if (cached) return;
        ratio.Record(soft.Ratio);
        softTokens.Record(soft.Count);
    }
}
