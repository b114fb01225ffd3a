using Gmsa.Engine.Serving;

namespace Gmsa.Api.Contracts;

/// <summary>
/// One server-sent event of a streamed completion: a text piece, or (last) an empty text with
/// finish_reason, usage and timings. The pieces concatenate to the non-streamed text. Completions, answers and
/// reconstructions stream these alike.
/// </summary>
public sealed record CompletionChunk(string Id, string Text, string? FinishReason = null, CompletionUsage? Usage = null, CompletionTimings? Timings = null)
{
    // OpenAI's completion chunk fields, so its clients stream unchanged.
    public string Object => "text_completion";
    public long Created { get; init; } = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
    public required string Model { get; init; }
    public IReadOnlyList<CompletionChoice> Choices => [new(0, Text, FinishReason)];

    public static CompletionChunk Piece(string id, string model, string text) => new(id, text) { Model = model };

    public static CompletionChunk Final(string id, string model, GenerationOutcome outcome) =>
        new(id, "", CompletionResponse.FinishReasonName(outcome.Reason), CompletionUsage.From(outcome), CompletionTimings.From(outcome)) { Model = model };
}
