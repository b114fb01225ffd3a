using System.Text.Json;
using System.Text.Json.Nodes;

namespace Gmsa.Engine.Evaluation;

/// <summary>
/// One scored sample of an evaluation: what the decoder said against what was expected, with the sample's own scores,
/// so a report's mean can be traced to the items behind it (which questions fail, at which rate, saying what).
/// </summary>
/// <param name="Index">the sample's line in its set (0-based)</param>
/// <param name="Prompt">the question (QA, passkey); null for reconstruction</param>
/// <param name="Expected">the gold answers (QA, passkey) or the text to restate (reconstruction)</param>
public sealed record EvalPrediction(
    string Method, int? Rate, string Task, int Index, string? Prompt, IReadOnlyList<string> Expected, string Prediction,
    IReadOnlyDictionary<string, double> Scores, int? ContextTokens = null)
{
    public JsonObject ToJson()
    {
        var o = new JsonObject { ["method"] = Method, ["rate"] = Rate, ["task"] = Task, ["index"] = Index };
        if (ContextTokens is { } length) o["context_tokens"] = length;
        if (Prompt is not null) o["prompt"] = Prompt;
        o["expected"] = new JsonArray(Expected.Select(e => (JsonNode)JsonValue.Create(e)!).ToArray());
        o["prediction"] = Prediction;
        foreach (var (name, value) in Scores) o[name] = Math.Round(value, 4);
        return o;
    }

    /// <summary>JSON Lines, one sample a line, in the order evaluated.</summary>
    public static void WriteJsonl(string path, IEnumerable<EvalPrediction> predictions)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        using var writer = new StreamWriter(path);
        var options = new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        foreach (var p in predictions) writer.WriteLine(p.ToJson().ToJsonString(options));
    }
}
