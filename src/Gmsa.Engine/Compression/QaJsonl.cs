using System.Text.Json;
using Gmsa.Engine.Text;

namespace Gmsa.Engine.Compression;

/// <summary>One question over a context with its gold answers (the first one is the training target).</summary>
public sealed record QaItem(string Input, string Prompt, IReadOnlyList<string> Answers);

/// <summary>
/// The reference code's JSONL, one <c>{"input", "prompt", "answer"}</c> per line (<c>answer</c> a string or a
/// list of gold answers), so users bring their own NQ/HotpotQA files.
/// </summary>
public static class QaJsonl
{
    public static IReadOnlyList<QaItem> Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path} does not exist", path);
        var items = new List<QaItem>();
        int line = 0;
        foreach (var text in File.ReadLines(path))
        {
            line++;
            if (string.IsNullOrWhiteSpace(text)) continue;
            try
            {
                using var doc = JsonDocument.Parse(text);
                var root = doc.RootElement;
                string input = root.GetProperty("input").GetString() ?? "", prompt = root.GetProperty("prompt").GetString() ?? "";
                var answer = root.GetProperty("answer");
                var answers = answer.ValueKind == JsonValueKind.Array
                    ? answer.EnumerateArray().Select(a => a.GetString() ?? "").ToArray()
                    : [answer.GetString() ?? ""];
                if (input.Length == 0 || prompt.Length == 0 || answers.Length == 0 || answers[0].Length == 0)
                    throw new InvalidDataException("input, prompt and answer must be non-empty");
                items.Add(new QaItem(input, prompt, answers));
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or InvalidDataException)
            {
                throw new InvalidDataException($"{path}:{line}: not a {{\"input\", \"prompt\", \"answer\"}} object ({e.Message})", e);
            }
        }
        if (items.Count == 0) throw new InvalidDataException($"{path} holds no examples");
        return items;
    }

    // Apostrophes and accents as they are ("Cote d'Ivoire", not "Cote d\u0027Ivoire"): the files are read by people too.
    internal static readonly JsonSerializerOptions Readable = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static void Write(string path, IEnumerable<QaItem> items)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        using var writer = new StreamWriter(path);
        foreach (var item in items)
            writer.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["input"] = item.Input, ["prompt"] = item.Prompt, ["answer"] = item.Answers.Count == 1 ? item.Answers[0] : item.Answers,
            }, Readable));
    }

    /// <summary>Training examples: the context and the question without BOS, the first answer then EOS as target.</summary>
    public static CompressionExample[] Examples(IEnumerable<QaItem> items, TextTokenizer tokenizer) =>
        items.Select(q => new CompressionExample(
            tokenizer.Encode(q.Input, addBos: false),
            tokenizer.Encode(q.Prompt, addBos: false),
            [.. tokenizer.Encode(" " + q.Answers[0].Trim(), addBos: false), tokenizer.EosId ?? throw new InvalidDataException("the tokenizer has no EOS")])).ToArray();
}
