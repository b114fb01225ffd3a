using System.Runtime.CompilerServices;
using System.Text.Json;

namespace Gmsa.Api.Contracts;

/// <summary>Stop sequences as OpenAI's APIs take them: generation text ends before the first one.</summary>
public static class StopSequences
{
    /// <summary>The text before the first stop sequence, and whether one was found.</summary>
    public static (string Text, bool Stopped) Cut(string text, string[] stops)
    {
        int cut = stops.Select(s => text.IndexOf(s, StringComparison.Ordinal)).Where(i => i >= 0).DefaultIfEmpty(-1).Min();
        return cut >= 0 ? (text[..cut], true) : (text, false);
    }

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
        return values;
    }

    /// <summary>
    /// Streamed text with stop sequences applied: pieces pass through, holding back just enough to catch a stop sequence
    /// split across pieces; at a stop the text before it comes last with Stopped set, and the stream ends there.
    /// </summary>
    public static async IAsyncEnumerable<(string Text, bool Stopped)> Apply(IAsyncEnumerable<string> pieces, string[] stops)
    {
        int holdBack = stops.Length == 0 ? 0 : stops.Max(s => s.Length) - 1;
        var pending = "";
        await foreach (var piece in pieces)
        {
            pending += piece;
            var (text, stopped) = Cut(pending, stops);
            if (stopped)
            {
                yield return (text, true);
                yield break;
            }
            int ready = Math.Max(0, pending.Length - holdBack);
            if (ready > 0) yield return (pending[..ready], false);
            pending = pending[ready..];
        }
        if (pending.Length > 0) yield return (pending, false);
    }
}
