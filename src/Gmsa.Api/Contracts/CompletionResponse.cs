using Gmsa.Engine.Generation;
using Gmsa.Engine.Serving;

namespace Gmsa.Api.Contracts;

/// <summary>
/// A finished completion in OpenAI's shape (<c>object</c>, <c>created</c>, <c>choices[]</c>, <c>usage.total_tokens</c>), so the
/// official clients read it unchanged, plus Gmsa's own <c>text</c>, <c>finish_reason</c> and <c>timings</c> (the first choice's).
/// </summary>
public sealed record CompletionResponse(string Id, string Model, string Text, string FinishReason, CompletionUsage Usage, CompletionTimings Timings)
{
    readonly IReadOnlyList<CompletionChoice>? choices;

    public string Object => "text_completion";
    public long Created { get; init; } = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
    public IReadOnlyList<CompletionChoice> Choices { get => choices ?? [new(0, Text, FinishReason)]; init => choices = value; }

    public static CompletionResponse From(string id, string model, GenerationOutcome outcome) =>
        new(id, model, outcome.Text, FinishReasonName(outcome.Reason), CompletionUsage.From(outcome), CompletionTimings.From(outcome));

    /// <summary>
    /// n completions of each prompt, prompt by prompt: a choice each, numbered in that order, each prompt counted once in
    /// usage (as OpenAI counts it).
    /// </summary>
    public static CompletionResponse From(string id, string model, IReadOnlyList<GenerationOutcome> outcomes, int n = 1) =>
        From(id, model, outcomes[0]) with
        {
            Usage = new CompletionUsage(outcomes.Where((_, i) => i % n == 0).Sum(o => o.PromptTokens), outcomes.Sum(o => o.CompletionTokens)),
            Choices = outcomes.Select((o, i) => new CompletionChoice(i, o.Text, FinishReasonName(o.Reason))).ToArray(),
        };

    /// <summary>"stop" (end of sequence) or "length" (max_tokens reached).</summary>
    public static string FinishReasonName(FinishReason reason) => reason switch
    {
        Engine.Generation.FinishReason.Stop => "stop",
        Engine.Generation.FinishReason.Length => "length",
        _ => "cancelled",
    };
}

/// <summary>One choice of an OpenAI completion.</summary>
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
