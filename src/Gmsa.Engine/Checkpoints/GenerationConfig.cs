using System.Text.Json;
using System.Text.Json.Nodes;
using Gmsa.Engine.Generation;
using Gmsa.Engine.Model;

namespace Gmsa.Engine.Checkpoints;

/// <summary>generation_config.json: special ids and the model author's default sampling settings.</summary>
public sealed record GenerationConfig
{
    public int? BosTokenId { get; init; }
    public IReadOnlyList<int> EosTokenIds { get; init; } = [];
    public int? PadTokenId { get; init; }
    public double? Temperature { get; init; }
    public double? TopP { get; init; }
    public int? TopK { get; init; }
    public double? RepetitionPenalty { get; init; }
    public bool DoSample { get; init; }

    /// <summary>
    /// Sampling settings for a request, as Hugging Face's generate fills them: what the caller set wins; what it left
    /// out (null) comes from this file; what neither says is Gmsa's default (greedy, top-p 1, all tokens, no penalty).
    /// A temperature left out samples at the file's temperature (1 when it has none) only when the file says
    /// do_sample; otherwise decoding is greedy.
    /// </summary>
    public SamplingOptions Resolve(double? temperature = null, double? topP = null, int? topK = null, double? repetitionPenalty = null) => new()
    {
        Temperature = temperature ?? (DoSample ? Temperature ?? 1.0 : 0.0),
        TopP = topP ?? TopP ?? 1.0,
        TopK = topK ?? TopK ?? 0,
        RepetitionPenalty = repetitionPenalty ?? RepetitionPenalty ?? 1.0,
    };

    public static GenerationConfig FromModel(ModelConfig config) =>
        new() { BosTokenId = config.BosTokenId, EosTokenIds = config.EosTokenIds, PadTokenId = config.PadTokenId };

    /// <summary>Reads the folder's generation_config.json, or derives one from config.json when absent.</summary>
    public static GenerationConfig Load(string directory, ModelConfig config)
    {
        var path = Path.Combine(directory, "generation_config.json");
        if (!File.Exists(path)) return FromModel(config);
        var o = JsonFile.Read(path, json => JsonNode.Parse(json)) as JsonObject ?? throw new InvalidDataException($"'{path}' is not a JSON object");
        var eos = ModelConfig.IntOrList(o["eos_token_id"]);
        return new GenerationConfig
        {
            BosTokenId = ModelConfig.Optional(o, "bos_token_id") ?? config.BosTokenId,
            EosTokenIds = eos.Count > 0 ? eos : config.EosTokenIds,
            PadTokenId = ModelConfig.Optional(o, "pad_token_id") ?? config.PadTokenId,
            Temperature = Number(o["temperature"]),
            TopP = Number(o["top_p"]),
            TopK = ModelConfig.Optional(o, "top_k"),
            RepetitionPenalty = Number(o["repetition_penalty"]),
            DoSample = o["do_sample"] is JsonValue s && s.GetValueKind() == JsonValueKind.True,
        };
    }

    static double? Number(JsonNode? n) => n is JsonValue v && v.GetValueKind() == JsonValueKind.Number ? v.GetValue<double>() : null;

    public string ToJson()
    {
        var o = new JsonObject { ["_from_model_config"] = true };
        if (BosTokenId is { } bos) o["bos_token_id"] = bos;
        if (EosTokenIds.Count == 1) o["eos_token_id"] = EosTokenIds[0];
        else if (EosTokenIds.Count > 1) o["eos_token_id"] = new JsonArray(EosTokenIds.Select(e => (JsonNode)e).ToArray());
        if (PadTokenId is { } pad) o["pad_token_id"] = pad;
        if (DoSample) o["do_sample"] = true;
        if (Temperature is { } t) o["temperature"] = t;
        if (TopP is { } p) o["top_p"] = p;
        if (TopK is { } k) o["top_k"] = k;
        if (RepetitionPenalty is { } r) o["repetition_penalty"] = r;
        return o.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }
}
