using System.Diagnostics;
using Gmsa.Api.Contracts;
using Gmsa.Engine.Serving;

namespace Gmsa.Api.Telemetry;

/// <summary>The service's one meter and one activity source, by the names OpenTelemetry subscribes to.</summary>
public static class GmsaTelemetry
{
    public const string ServiceName = "gmsa-api";
    public const string MeterName = "Gmsa.Api";
    public const string ActivitySourceName = "Gmsa.Api";

    public static readonly ActivitySource ActivitySource = new(ActivitySourceName);

    /// <summary>A span from admission to the last token of one completion.</summary>
    public static Activity? StartGeneration(GenerationRequest request, bool stream) =>
        ActivitySource.StartActivity("gmsa.generate")
            ?.SetTag("gmsa.prompt_tokens", request.PromptTokens.Count)
            .SetTag("gmsa.max_tokens", request.Sampling.MaxNewTokens)
            .SetTag("gmsa.stream", stream);

    public static void Finish(this Activity? activity, GenerationOutcome outcome) =>
        activity?.SetTag("gmsa.finish_reason", CompletionResponse.FinishReasonName(outcome.Reason))
            .SetTag("gmsa.completion_tokens", outcome.CompletionTokens)
            .SetTag("gmsa.batch_size", outcome.BatchSize)
            .SetTag("gmsa.queue_ms", outcome.QueueWait.TotalMilliseconds)
            .SetTag("gmsa.prefill_ms", outcome.Prefill.TotalMilliseconds);
}
