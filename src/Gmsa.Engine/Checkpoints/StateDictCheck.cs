using System.Text;

namespace Gmsa.Engine.Checkpoints;

/// <summary>
/// Compares a checkpoint's tensors with the ones a model expects and reports every mismatch in
/// one error: missing keys, unexpected keys and wrong shapes, each listed by name.
/// </summary>
public static class StateDictCheck
{
    // Keys some checkpoints carry that hold no weights of ours (RoPE tables are recomputed).
    static bool Ignorable(string key) => key.EndsWith(".rotary_emb.inv_freq", StringComparison.Ordinal);

    public static void Verify(string source, IReadOnlyDictionary<string, long[]> expected, IReadOnlyDictionary<string, long[]> actual,
        IReadOnlySet<string>? optional = null)
    {
        var missing = expected.Keys.Where(k => !actual.ContainsKey(k)).Order().ToList();
        var unexpected = actual.Keys.Where(k => !expected.ContainsKey(k) && !Ignorable(k) && !(optional?.Contains(k) ?? false)).Order().ToList();
        var misShaped = expected.Keys.Where(k => actual.TryGetValue(k, out var s) && !s.SequenceEqual(expected[k])).Order()
            .Select(k => $"{k}: checkpoint [{string.Join(", ", actual[k])}], model [{string.Join(", ", expected[k])}]").ToList();
        if (missing.Count + unexpected.Count + misShaped.Count == 0) return;

        var message = new StringBuilder($"{source} does not match the model config:");
        Append(message, "missing", missing);
        Append(message, "unexpected", unexpected);
        Append(message, "wrong shape", misShaped);
        throw new CheckpointMismatchException(message.ToString(), missing, unexpected, misShaped);
    }

    static void Append(StringBuilder message, string what, List<string> items)
    {
        if (items.Count == 0) return;
        const int shown = 10;
        message.Append($" {items.Count} {what} ({string.Join("; ", items.Take(shown))}{(items.Count > shown ? "; ..." : "")}).");
    }
}

public sealed class CheckpointMismatchException(string message, IReadOnlyList<string> missing, IReadOnlyList<string> unexpected,
    IReadOnlyList<string> misShaped) : Exception(message)
{
    public IReadOnlyList<string> Missing { get; } = missing;
    public IReadOnlyList<string> Unexpected { get; } = unexpected;
    public IReadOnlyList<string> MisShaped { get; } = misShaped;
}
