using Gmsa.Engine.Generation;
using Gmsa.Engine.Serving;

namespace Gmsa.Api.Contracts;

/// <summary>A finished completion: the continuation (prompt excluded), why it ended, its size and its timings.</summary>
public sealed record CompletionResponse(string Id, string Model, string Text, string FinishReason, CompletionUsage Usage, CompletionTimings Timings)
{
    public static CompletionResponse From(string id, string model, GenerationOutcome outcome) =>
        new(id, model, outcome.Text, FinishReasonName(outcome.Reason), CompletionUsage.From(outcome), CompletionTimings.From(outcome));

    /// <summary>"stop" (end of sequence) or "length" (max_tokens reached).</summary>
    public static string FinishReasonName(FinishReason reason) => reason switch
    {
        Engine.Generation.FinishReason.Stop => "stop",
        Engine.Generation.FinishReason.Length => "length",
        _ => "cancelled",
    };
}

public sealed record CompletionUsage(int PromptTokens, int CompletionTokens)
{
    public static CompletionUsage From(GenerationOutcome o) => new(o.PromptTokens, o.CompletionTokens);
}

/// <summary>Where the time went: waiting for a batch, reading the prompt (shared by the batch), then decoding.</summary>
public sealed record CompletionTimings(double QueueMs, double PrefillMs, double DecodeTokensPerS, int BatchSize)
{
    public static CompletionTimings From(GenerationOutcome o) =>
        new(Math.Round(o.QueueWait.TotalMilliseconds, 3), Math.Round(o.Prefill.TotalMilliseconds, 3), Math.Round(o.DecodeTokensPerSecond, 3), o.BatchSize);
}
