using Gmsa.Engine.Generation;
using Gmsa.Engine.Serving;

namespace Gmsa.Api.Contracts;

/// <summary>
/// A finished completion in OpenAI's shape (<c>object</c>, <c>created</c>, <c>choices[]</c>, <c>usage.total_tokens</c>), so the
/// official clients read it unchanged, plus Gmsa's own <c>text</c>, <c>finish_reason</c> (the first choice's) and <c>timings</c>.
/// </summary>
public sealed record CompletionResponse(string Id, string Model, string Text, string FinishReason, CompletionUsage Usage, CompletionTimings Timings)
{
    public string Object => "text_completion";
    public long Created { get; init; } = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
    public IReadOnlyList<CompletionChoice> Choices => [new(0, Text, FinishReason)];

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

/// <summary>One choice of an OpenAI completion (Gmsa makes one per request).</summary>
public sealed record CompletionChoice(int Index, string Text, string? FinishReason)
{
    public object? Logprobs => null;
}

public sealed record CompletionUsage(int PromptTokens, int CompletionTokens)
{
    public int TotalTokens => PromptTokens + CompletionTokens;

    public static CompletionUsage From(GenerationOutcome o) => new(o.PromptTokens, o.CompletionTokens);
}

/// <summary>Where the time went: waiting for a batch, reading the prompt (shared by the batch), then decoding.</summary>
public sealed record CompletionTimings(double QueueMs, double PrefillMs, double DecodeTokensPerS, int BatchSize)
{
    public static CompletionTimings From(GenerationOutcome o) =>
        new(Math.Round(o.QueueWait.TotalMilliseconds, 3), Math.Round(o.Prefill.TotalMilliseconds, 3), Math.Round(o.DecodeTokensPerSecond, 3), o.BatchSize);
}
