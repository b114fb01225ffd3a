namespace Gmsa.Engine.Generation;

/// <summary>
/// Streamed text with stop sequences applied, as OpenAI's `stop` means them: pieces pass through, holding back only a tail
/// that could still begin a stop sequence split across pieces; at a stop only the text before it is released, and the
/// sequence ends there.
/// </summary>
public sealed class StopSequenceFilter
{
    readonly IReadOnlyList<string> stops;
    readonly int longest;
    string pending = "";

    public StopSequenceFilter(IReadOnlyList<string> stops)
    {
        if (stops.Any(string.IsNullOrEmpty)) throw new ArgumentException("stop sequences must be non-empty");
        this.stops = stops;
        longest = stops.Count == 0 ? 0 : stops.Max(s => s.Length);
    }

    /// <summary>Whether a stop sequence has been seen; nothing is released after that.</summary>
    public bool Stopped { get; private set; }

    /// <summary>The text that is safe to release after <paramref name="piece"/>, and whether a stop sequence ended it.</summary>
    public (string Ready, bool Stopped) Push(string piece)
    {
        if (Stopped) return ("", true);
        pending += piece;
        if (FirstStop(pending) is int at)
        {
            Stopped = true;
            var before = pending[..at];
            pending = "";
            return (before, true);
        }
        int ready = pending.Length - PossibleStopStart(pending);
        var released = pending[..ready];
        pending = pending[ready..];
        return (released, false);
    }

    /// <summary>The held-back text once the sequence has ended another way (length, a stop token): it was no stop after all.</summary>
    public string Flush()
    {
        var rest = Stopped ? "" : pending;
        pending = "";
        return rest;
    }

    /// <summary>The length of the longest tail of <paramref name="text"/> that begins some stop sequence (shorter than it).</summary>
    int PossibleStopStart(string text)
    {
        for (int k = Math.Min(longest - 1, text.Length); k > 0; k--)
        {
            var tail = text.AsSpan(text.Length - k);
            foreach (var stop in stops)
                if (stop.AsSpan().StartsWith(tail, StringComparison.Ordinal)) return k;
        }
        return 0;
    }

    int? FirstStop(string text)
    {
        int first = -1;
        foreach (var stop in stops)
        {
            int at = text.IndexOf(stop, StringComparison.Ordinal);
            if (at >= 0 && (first < 0 || at < first)) first = at;
        }
        return first >= 0 ? first : null;
    }
}
