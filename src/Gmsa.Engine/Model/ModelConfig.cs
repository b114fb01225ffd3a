using System.Text.Json;
using System.Text.Json.Nodes;
using Gmsa.Engine.Checkpoints;

namespace Gmsa.Engine.Model;

/// <summary>How RoPE frequencies are rescaled for long contexts (config.json's rope_scaling / rope_parameters).</summary>
public sealed record RopeScaling(
    string RopeType,                  // "default", "linear" or "llama3"
    double Factor = 1.0,
    double LowFreqFactor = 1.0,       // llama3 only
    double HighFreqFactor = 4.0,      // llama3 only
    int OriginalMaxPositionEmbeddings = 8192); // llama3 only

/// <summary>
/// The decoder-only family of LLaMA-2/3, Mistral, Qwen2/2.5 and Qwen3, as read from a Hugging Face
/// config.json. Field names follow the file; the differences between families are flags
/// (q/k/v bias for Qwen2, per-head q/k RMSNorm for Qwen3), not subclasses.
/// </summary>
public sealed record ModelConfig
{
    public string ModelType { get; init; } = "llama";
    public int VocabSize { get; init; }
    public int HiddenSize { get; init; }
    public int IntermediateSize { get; init; }
    public int NumHiddenLayers { get; init; }
    public int NumAttentionHeads { get; init; }
    public int NumKeyValueHeads { get; init; }
    /// <summary>Per-head width; Qwen3 and some LLaMA-3 derivatives set it apart from hidden/heads.</summary>
    public int HeadDim { get; init; }
    public int MaxPositionEmbeddings { get; init; } = 2048;
    public double RmsNormEps { get; init; } = 1e-6;
    public double RopeTheta { get; init; } = 10000.0;
    public RopeScaling? RopeScaling { get; init; }
    public bool TieWordEmbeddings { get; init; }
    /// <summary>Bias on q_proj/k_proj/v_proj (Qwen2: always; LLaMA: attention_bias).</summary>
    public bool AttentionBias { get; init; }
    /// <summary>Qwen3: RMSNorm over each head of q and k before RoPE.</summary>
    public bool QkNorm { get; init; }
    public string HiddenAct { get; init; } = "silu";
    public int? BosTokenId { get; init; }
    public IReadOnlyList<int> EosTokenIds { get; init; } = [];
    public int? PadTokenId { get; init; }
    /// <summary>The dtype the weights were saved in ("float32", "bfloat16", "float16").</summary>
    public string TorchDtype { get; init; } = "float32";

    /// <summary>
    /// Mistral's sliding attention window. Attention here is always full, which equals sliding attention
    /// only while the sequence fits in the window, so the window caps <see cref="ContextLength"/>.
    /// </summary>
    public int? SlidingWindow { get; init; }

    /// <summary>The longest sequence this engine computes exactly for the checkpoint.</summary>
    public int ContextLength => SlidingWindow is { } w ? Math.Min(w, MaxPositionEmbeddings) : MaxPositionEmbeddings;

    public int KvGroups => NumAttentionHeads / NumKeyValueHeads;

    /// <summary>Reads a folder's config.json; a missing folder or file is named as a model folder's problem, not a path's.</summary>
    public static ModelConfig Load(string path)
    {
        string folder = Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".";
        if (!File.Exists(path))
            throw Directory.Exists(folder)
                ? new FileNotFoundException($"model folder '{folder}' has no {Path.GetFileName(path)}", path)
                : new DirectoryNotFoundException($"model folder '{folder}' does not exist");
        return JsonFile.Read(path, Parse);
    }

    public static ModelConfig Parse(string json)
    {
        var o = JsonNode.Parse(json)?.AsObject() ?? throw new InvalidDataException("config.json is not a JSON object");
        string modelType = o["model_type"]?.GetValue<string>() ?? "llama";
        if (modelType is not ("llama" or "mistral" or "qwen2" or "qwen3"))
            throw new NotSupportedException($"model_type '{modelType}' is not supported (llama, mistral, qwen2, qwen3 are)");
        string act = o["hidden_act"]?.GetValue<string>() ?? "silu";
        if (act != "silu")
            throw new NotSupportedException($"hidden_act '{act}' is not supported (silu is)");

        int hidden = Required(o, "hidden_size"), heads = Required(o, "num_attention_heads");
        int kvHeads = Optional(o, "num_key_value_heads") ?? heads;
        if (heads % kvHeads != 0)
            throw new InvalidDataException($"num_attention_heads {heads} is not a multiple of num_key_value_heads {kvHeads}");

        // Newer transformers fold rope_theta into rope_parameters; older ones keep rope_scaling apart.
        var ropeNode = (o["rope_parameters"] ?? o["rope_scaling"]) as JsonObject;
        double theta = ropeNode?["rope_theta"]?.GetValue<double>() ?? o["rope_theta"]?.GetValue<double>() ?? 10000.0;

        return new ModelConfig
        {
            ModelType = modelType,
            VocabSize = Required(o, "vocab_size"),
            HiddenSize = hidden,
            IntermediateSize = Required(o, "intermediate_size"),
            NumHiddenLayers = Required(o, "num_hidden_layers"),
            NumAttentionHeads = heads,
            NumKeyValueHeads = kvHeads,
            HeadDim = Optional(o, "head_dim") ?? hidden / heads,
            MaxPositionEmbeddings = Optional(o, "max_position_embeddings") ?? 2048,
            RmsNormEps = o["rms_norm_eps"]?.GetValue<double>() ?? 1e-6,
            RopeTheta = theta,
            RopeScaling = ParseRopeScaling(ropeNode),
            TieWordEmbeddings = o["tie_word_embeddings"]?.GetValue<bool>() ?? false,
            AttentionBias = modelType == "qwen2" || (o["attention_bias"]?.GetValue<bool>() ?? false),
            QkNorm = modelType == "qwen3",
            HiddenAct = act,
            BosTokenId = Optional(o, "bos_token_id"),
            EosTokenIds = IntOrList(o["eos_token_id"]),
            PadTokenId = Optional(o, "pad_token_id"),
            TorchDtype = (o["torch_dtype"] ?? o["dtype"])?.GetValue<string>() ?? "float32",
            // Qwen2 configs carry sliding_window but switch it off with use_sliding_window: false.
            SlidingWindow = (o["use_sliding_window"]?.GetValue<bool>() ?? modelType == "mistral") ? Optional(o, "sliding_window") : null,
        };
    }

    static RopeScaling? ParseRopeScaling(JsonObject? node)
    {
        if (node is null) return null;
        string type = (node["rope_type"] ?? node["type"])?.GetValue<string>() ?? "default";
        if (type is not ("default" or "linear" or "llama3"))
            throw new NotSupportedException($"rope scaling '{type}' is not supported (default, linear, llama3 are)");
        if (type == "default") return null;
        return new RopeScaling(
            type,
            node["factor"]?.GetValue<double>() ?? 1.0,
            node["low_freq_factor"]?.GetValue<double>() ?? 1.0,
            node["high_freq_factor"]?.GetValue<double>() ?? 4.0,
            (int?)node["original_max_position_embeddings"]?.GetValue<double>() ?? 8192);
    }

    static int Required(JsonObject o, string key) =>
        Optional(o, key) ?? throw new InvalidDataException($"config.json lacks '{key}'");

    internal static int? Optional(JsonObject o, string key) =>
        o[key] is JsonValue v && v.GetValueKind() == JsonValueKind.Number ? (int)v.GetValue<double>() : null;

    /// <summary>eos_token_id and friends: a number or a list of numbers.</summary>
    internal static IReadOnlyList<int> IntOrList(JsonNode? node) => node switch
    {
        JsonArray a => a.Select(x => (int)x!.GetValue<double>()).ToArray(),
        JsonValue v when v.GetValueKind() == JsonValueKind.Number => [(int)v.GetValue<double>()],
        _ => [],
    };

    /// <summary>Writes the config in the form transformers' LlamaConfig/Qwen2Config/Qwen3Config read.</summary>
    public string ToJson()
    {
        var o = new JsonObject
        {
            ["architectures"] = new JsonArray(ModelType switch
            {
                "qwen2" => "Qwen2ForCausalLM",
                "qwen3" => "Qwen3ForCausalLM",
                "mistral" => "MistralForCausalLM",
                _ => "LlamaForCausalLM",
            }),
            ["model_type"] = ModelType,
            ["vocab_size"] = VocabSize,
            ["hidden_size"] = HiddenSize,
            ["intermediate_size"] = IntermediateSize,
            ["num_hidden_layers"] = NumHiddenLayers,
            ["num_attention_heads"] = NumAttentionHeads,
            ["num_key_value_heads"] = NumKeyValueHeads,
            ["head_dim"] = HeadDim,
            ["hidden_act"] = HiddenAct,
            ["max_position_embeddings"] = MaxPositionEmbeddings,
            ["rms_norm_eps"] = RmsNormEps,
            ["rope_theta"] = RopeTheta,
            ["tie_word_embeddings"] = TieWordEmbeddings,
            ["attention_bias"] = AttentionBias,
            ["torch_dtype"] = TorchDtype,
        };
        if (SlidingWindow is { } window) o["sliding_window"] = window;
        if (RopeScaling is { } s)
            o["rope_scaling"] = new JsonObject
            {
                ["rope_type"] = s.RopeType,
                ["factor"] = s.Factor,
                ["low_freq_factor"] = s.LowFreqFactor,
                ["high_freq_factor"] = s.HighFreqFactor,
                ["original_max_position_embeddings"] = s.OriginalMaxPositionEmbeddings,
            };
        if (BosTokenId is { } bos) o["bos_token_id"] = bos;
        if (EosTokenIds.Count == 1) o["eos_token_id"] = EosTokenIds[0];
        else if (EosTokenIds.Count > 1) o["eos_token_id"] = new JsonArray(EosTokenIds.Select(e => (JsonNode)e).ToArray());
        if (PadTokenId is { } pad) o["pad_token_id"] = pad;
        return o.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }
}
