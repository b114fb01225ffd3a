using Gmsa.Engine.Generation;

namespace Gmsa.Engine.Serving;

/// <summary>What one request got: its text and the figures a client or a dashboard wants about it.</summary>
/// <param name="PromptTokens">positions its prompt took: soft tokens and text tokens</param>
/// <param name="QueueWait">from admission until its prefill started</param>
/// <param name="Prefill">from its prefill's start to its first token (chunks interleaved with other sequences' steps included)</param>
/// <param name="DecodeTokensPerSecond">its tokens after the first over the time they took</param>
/// <param name="BatchSize">sequences that shared its decode steps, on average, itself included</param>
public sealed record GenerationOutcome(
    string Text,
    FinishReason Reason,
    int PromptTokens,
    int CompletionTokens,
    TimeSpan QueueWait,
    TimeSpan Prefill,
    double DecodeTokensPerSecond,
    int BatchSize);

/// <summary>One scheduler iteration (prefill chunks, then one decode step of the running sequences), for metrics.</summary>
/// <param name="Size">sequences in the decode step</param>
/// <param name="QueueWaits">waits of the requests whose prefill started in this iteration</param>
/// <param name="Prefill">time spent prefilling in this iteration</param>
/// <param name="Decode">time of the decode step</param>
/// <param name="PromptTokens">prompt positions prefilled in this iteration</param>
/// <param name="GeneratedTokens">tokens sampled in this iteration (first tokens after a prefill included)</param>
/// <param name="PrefillForwards">model forwards the prefill took (one per prompt chunk, one for prompts prefilled together)</param>
public sealed record BatchReport(
    int Size,
    IReadOnlyList<TimeSpan> QueueWaits,
    TimeSpan Prefill,
    TimeSpan Decode,
    int PromptTokens,
    int GeneratedTokens,
    int PrefillForwards = 0)
{
    public double DecodeTokensPerSecond => Decode > TimeSpan.Zero ? Size / Decode.TotalSeconds : 0;
}
