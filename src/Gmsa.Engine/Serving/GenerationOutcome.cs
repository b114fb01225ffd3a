using Gmsa.Engine.Generation;

namespace Gmsa.Engine.Serving;

/// <summary>What one request got: its text and the figures a client or a dashboard wants about it.</summary>
/// <param name="QueueWait">from admission until its batch started</param>
/// <param name="Prefill">its batch's prefill (shared by every row)</param>
/// <param name="DecodeTokensPerSecond">tokens per second each row of its batch received while decoding</param>
/// <param name="BatchSize">rows in its batch, itself included</param>
public sealed record GenerationOutcome(
    string Text,
    FinishReason Reason,
    int PromptTokens,
    int CompletionTokens,
    TimeSpan QueueWait,
    TimeSpan Prefill,
    double DecodeTokensPerSecond,
    int BatchSize);

/// <summary>One batch as the scheduler ran it, for metrics.</summary>
/// <param name="QueueWaits">each row's wait from admission to the batch's start</param>
/// <param name="DecodeTokensPerSecond">all rows' tokens over the decode time: the batch's throughput</param>
public sealed record BatchReport(
    int Size,
    IReadOnlyList<TimeSpan> QueueWaits,
    TimeSpan Prefill,
    TimeSpan Decode,
    int PromptTokens,
    int GeneratedTokens,
    double DecodeTokensPerSecond);
