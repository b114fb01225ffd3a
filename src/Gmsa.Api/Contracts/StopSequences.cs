using System.Text.Json;

namespace Gmsa.Api.Contracts;

/// <summary>Stop sequences as OpenAI's APIs take them; the scheduler applies them (<see cref="Gmsa.Engine.Generation.StopSequenceFilter"/>).</summary>
public static class StopSequences
{
    public const int MaxLength = 256;
    public const int MaxCount = 4;

    /// <summary>
    /// OpenAI's `stop`: null, a string, or an array of up to 4 strings; null and [] (as OpenAI reads them, and as clients that
    /// serialize every field send them) are no stop strings. An empty string would end every answer before its first
    /// token, so it is refused rather than read. Anything else adds an error under "stop".
    /// </summary>
    public static string[] Parse(JsonElement? stop, Dictionary<string, string[]> errors)
    {
        if (stop is not { } s || s.ValueKind == JsonValueKind.Null) return [];
        string[]? values = s.ValueKind switch
        {
            JsonValueKind.String => [s.GetString()!],
            JsonValueKind.Array when s.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String) => s.EnumerateArray().Select(e => e.GetString()!).ToArray(),
            _ => null,
        };
        string? problem = values switch
        {
            null => $"stop must be a string or an array of at most {MaxCount} strings",
            { Length: > MaxCount } => $"stop has {values.Length} strings; at most {MaxCount} are taken",
            _ when Array.FindIndex(values, v => v.Length == 0) is var i and >= 0 =>
                $"{(s.ValueKind == JsonValueKind.String ? "stop" : $"stop[{i}]")} is an empty string, which would end the text before it starts: " +
                "give at least one character, or leave stop out (or send []) for no stop strings",
            // Every generated piece is matched against each stop's prefixes: work grows with the square of a stop's length.
            _ when values.FirstOrDefault(v => v.Length > MaxLength) is { } tooLong => $"a stop string is at most {MaxLength} characters; one has {tooLong.Length}",
            _ => null,
        };
        if (problem is null) return values!;
        errors["stop"] = [problem];
        return [];
    }
}
