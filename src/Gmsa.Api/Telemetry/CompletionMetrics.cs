using System.Diagnostics.Metrics;
using Gmsa.Api.Contracts;
using System.Diagnostics;
using Gmsa.Engine.Serving;

namespace Gmsa.Api.Telemetry;

/// <summary>
/// Completion and batch figures on the <see cref="GmsaTelemetry.MeterName"/> meter. Batch figures come from
/// the scheduler's <see cref="GenerationScheduler.BatchCompleted"/>; request figures from the endpoint.
/// Prometheus names: gmsa_completion_duration_seconds, gmsa_queue_wait_seconds, gmsa_prefill_duration_seconds,
/// gmsa_decode_tokens_per_second, gmsa_batch_size, gmsa_completions_rejected_total, gmsa_tokens_total, gmsa_requests_in_flight,
/// gmsa_soft_prefix_cache_lookups_total and gmsa_soft_prefix_cache_size_bytes.
/// </summary>
public sealed class CompletionMetrics
{
    static readonly InstrumentAdvice<double> Seconds = new() { HistogramBucketBoundaries = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] };
    static readonly InstrumentAdvice<double> Rates = new() { HistogramBucketBoundaries = [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000] };
    static readonly InstrumentAdvice<int> Sizes = new() { HistogramBucketBoundaries = [1, 2, 4, 8, 16, 32, 64, 128, 256] };

    readonly Histogram<double> completionDuration, queueWait, prefill, decodeRate;
    readonly Histogram<double> requestDuration, timeToFirstToken, timePerOutputToken;   // OpenTelemetry gen_ai semantic conventions
    readonly Histogram<int> tokenUsage;
    readonly string model;
    readonly Histogram<int> batchSize;
    readonly Counter<long> rejected, tokens;

    public CompletionMetrics(IMeterFactory meterFactory, GenerationScheduler scheduler, ModelInfo modelInfo)
    {
        model = modelInfo.Id;
        var meter = meterFactory.Create(GmsaTelemetry.MeterName);
        requestDuration = meter.CreateHistogram("gen_ai.server.request.duration", "s", "Generative AI server request duration (admission to last token)", advice: Seconds);
        timeToFirstToken = meter.CreateHistogram("gen_ai.server.time_to_first_token", "s", "Time to generate the first token, queue wait included", advice: Seconds);
        timePerOutputToken = meter.CreateHistogram("gen_ai.server.time_per_output_token", "s", "Time per output token after the first", advice: Seconds);
        tokenUsage = meter.CreateHistogram("gen_ai.client.token.usage", "{token}", "Input and output tokens of a request", advice: new InstrumentAdvice<int>
        {
            HistogramBucketBoundaries = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144],
        });
        completionDuration = meter.CreateHistogram("gmsa.completion.duration", "s", "Time from admission to the last token of a completion", advice: Seconds);
        queueWait = meter.CreateHistogram("gmsa.queue.wait", "s", "Time a completion waited for its prefill to start", advice: Seconds);
        prefill = meter.CreateHistogram("gmsa.prefill.duration", "s", "Prefill time of one scheduler iteration (at most one chunk of prompt positions)", advice: Seconds);
        decodeRate = meter.CreateHistogram("gmsa.decode.tokens_per_second", "{token}/s", "Tokens per second of one decode step over all its sequences", advice: Rates);
        batchSize = meter.CreateHistogram("gmsa.batch.size", "{request}", "Sequences advanced together by one decode step", advice: Sizes);
        rejected = meter.CreateCounter<long>("gmsa.completions.rejected", "{request}", "Completions refused with 429 because every slot was taken");
        rejected.Add(0);    // the series exists at 0 from the start: an alert on its rate has nothing to read before the first 429 otherwise
        tokens = meter.CreateCounter<long>("gmsa.tokens", "{token}", "Prompt and generated tokens of finished completions");
        meter.CreateObservableGauge("gmsa.requests.in_flight", () => scheduler.InFlight, "{request}", "Completions admitted and not finished");
        if (scheduler.SoftPrefixes is { } prefixes)
        {
            meter.CreateObservableCounter("gmsa.soft_prefix.cache.lookups", () => new Measurement<long>[]
            {
                new(prefixes.Hits, new KeyValuePair<string, object?>("result", "hit")),
                new(prefixes.Misses, new KeyValuePair<string, object?>("result", "miss")),
            }, "{request}", "Decoder key/value lookups for soft-token prefixes by result: a hit prefills the question only");
            meter.CreateObservableGauge("gmsa.soft_prefix.cache.size", () => prefixes.Bytes, "By", "Bytes of decoder keys and values held for soft-token prefixes");
        }
        scheduler.BatchCompleted += RecordBatch;
    }

    void RecordBatch(BatchReport batch)
    {
        if (batch.Size > 0) batchSize.Record(batch.Size);
        if (batch.PromptTokens > 0) prefill.Record(batch.Prefill.TotalSeconds);
        if (batch.Decode > TimeSpan.Zero && batch.Size > 0) decodeRate.Record(batch.DecodeTokensPerSecond);
        foreach (var wait in batch.QueueWaits) queueWait.Record(wait.TotalSeconds);
    }

    public void Rejected() => rejected.Add(1);

    /// <param name="operation">gen_ai.operation.name: "text_completion" for /v1/completions, "answer" and "reconstruct" over soft tokens</param>
    public void Completed(GenerationOutcome outcome, TimeSpan elapsed, bool stream, string operation = "text_completion")
    {
        var tags = new TagList
        {
            { "gen_ai.operation.name", operation },
            { "gen_ai.provider.name", "gmsa" },
            { "gen_ai.request.model", model },
            { "gen_ai.response.model", model },
        };
        requestDuration.Record(elapsed.TotalSeconds, tags);
        timeToFirstToken.Record((outcome.QueueWait + outcome.Prefill).TotalSeconds, tags);
        if (outcome.DecodeTokensPerSecond > 0) timePerOutputToken.Record(1 / outcome.DecodeTokensPerSecond, tags);
        var input = tags;
        input.Add("gen_ai.token.type", "input");
        tokenUsage.Record(outcome.PromptTokens, input);
        var output = tags;
        output.Add("gen_ai.token.type", "output");
        tokenUsage.Record(outcome.CompletionTokens, output);
        var reason = new KeyValuePair<string, object?>("finish_reason", CompletionResponse.FinishReasonName(outcome.Reason));
        completionDuration.Record(elapsed.TotalSeconds, reason, new("stream", stream));
        tokens.Add(outcome.PromptTokens, new KeyValuePair<string, object?>("kind", "prompt"));
        tokens.Add(outcome.CompletionTokens, new KeyValuePair<string, object?>("kind", "completion"));
    }
}
