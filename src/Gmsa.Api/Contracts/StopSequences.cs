using System.Text.Json;

namespace Gmsa.Api.Contracts;

/// <summary>Stop sequences as OpenAI's APIs take them; the scheduler applies them (<see cref="Gmsa.Engine.Generation.StopSequenceFilter"/>).</summary>
public static class StopSequences
{
    public const int MaxLength = 256;

    /// <summary>OpenAI's `stop`: null, a string, or up to 4 strings; anything else adds an error under "stop".</summary>
    public static string[] Parse(JsonElement? stop, Dictionary<string, string[]> errors)
    {
        if (stop is not { } s || s.ValueKind == JsonValueKind.Null) return [];
        string[]? values = s.ValueKind switch
        {
            JsonValueKind.String => [s.GetString()!],
            JsonValueKind.Array when s.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String) => s.EnumerateArray().Select(e => e.GetString()!).ToArray(),
            _ => null,
        };
        if (values is null || values.Length > 4 || values.Any(v => v.Length == 0))
        {
            errors["stop"] = ["stop must be a non-empty string or an array of at most 4 non-empty strings"];
            return [];
        }
        // Every generated piece is matched against each stop's prefixes: work grows with the square of a stop's length.
        if (values.FirstOrDefault(v => v.Length > MaxLength) is { } tooLong)
        {
            errors["stop"] = [$"a stop string is at most {MaxLength} characters; one has {tooLong.Length}"];
            return [];
        }
        return values;
    }
}
