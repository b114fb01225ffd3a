using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Gmsa.Engine.Evaluation;

/// <summary>
/// One line of an evaluation report: which method, at which rate, on which task (and context length for passkey),
/// over how many samples, with its metrics, e.g. {"method": "gmsa", "rate": 4, "task": "reconstruction", "bleu": 0.97, ...}.
/// </summary>
public sealed record EvalRow(string Method, int? Rate, string Task, int Samples, IReadOnlyDictionary<string, double> Metrics, int? ContextTokens = null)
{
    public JsonObject ToJson()
    {
        var o = new JsonObject { ["method"] = Method, ["rate"] = Rate, ["task"] = Task };
        if (ContextTokens is { } length) o["context_tokens"] = length;
        o["samples"] = Samples;
        foreach (var (name, value) in Metrics) o[name] = Math.Round(value, 4);
        return o;
    }

    public static void WriteJson(string path, IEnumerable<EvalRow> rows)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var array = new JsonArray(rows.Select(r => (JsonNode)r.ToJson()).ToArray());
        File.WriteAllText(path, array.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }

    /// <summary>One Markdown table per task, a column per metric.</summary>
    public static string Markdown(IEnumerable<EvalRow> rows)
    {
        var sb = new StringBuilder();
        foreach (var task in rows.GroupBy(r => r.Task))
        {
            var metrics = task.SelectMany(r => r.Metrics.Keys).Distinct().ToList();
            bool lengths = task.Any(r => r.ContextTokens is not null);
            sb.AppendLine($"**{task.Key}**").AppendLine();
            sb.Append("| method | rate |").Append(lengths ? " context tokens |" : "").Append(" samples |");
            foreach (var m in metrics) sb.Append($" {m} |");
            sb.AppendLine().Append("| --- | ---: |").Append(lengths ? " ---: |" : "").Append(" ---: |");
            foreach (var _ in metrics) sb.Append(" ---: |");
            sb.AppendLine();
            foreach (var r in task)
            {
                sb.Append($"| {r.Method} | {(r.Rate is { } rate ? rate + "x" : "-")} |");
                if (lengths) sb.Append($" {r.ContextTokens} |");
                sb.Append($" {r.Samples} |");
                foreach (var m in metrics)
                    sb.Append(r.Metrics.TryGetValue(m, out var v) ? $" {v.ToString(v >= 100 ? "F0" : "F3", CultureInfo.InvariantCulture)} |" : " |");
                sb.AppendLine();
            }
            sb.AppendLine();
        }
        return sb.ToString();
    }
}
