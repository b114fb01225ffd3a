using System.Text.Json;
using Gmsa.Engine.Compression;

namespace Gmsa.Engine.Evaluation;

/// <summary>Held-out contexts for reconstruction (one text per line of a JSONL file: {"text": ...}).</summary>
public static class ReconstructionSet
{
    public static IReadOnlyList<string> Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path} does not exist", path);
        var texts = File.ReadLines(path).Where(l => l.Trim().Length > 0).Select((l, i) =>
        {
            try { return JsonDocument.Parse(l).RootElement.GetProperty("text").GetString() ?? ""; }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
            { throw new InvalidDataException($"{path}:{i + 1}: not a {{\"text\": ...}} object"); }
        }).Where(t => t.Length > 0).ToList();
        if (texts.Count == 0) throw new InvalidDataException($"{path} holds no contexts");
        return texts;
    }

    public static void Write(string path, IEnumerable<string> texts)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        File.WriteAllLines(path, texts.Select(t => JsonSerializer.Serialize(new { text = t }, QaJsonl.Readable)));
    }
}
