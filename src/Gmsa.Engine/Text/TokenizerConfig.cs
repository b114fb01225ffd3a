using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Gmsa.Engine.Text;

/// <summary>
/// The parts of a Hugging Face tokenizer_config.json the engine uses: the special token strings
/// (each written either as a string or as <c>{"content": ...}</c>), whether BOS/EOS are added, and
/// added_tokens_decoder. Missing file or fields read as null.
/// </summary>
internal sealed record TokenizerConfig
{
    public string? BosToken { get; init; }
    public string? EosToken { get; init; }
    public string? PadToken { get; init; }
    public string? UnkToken { get; init; }
    public bool? AddBosToken { get; init; }
    public bool? AddEosToken { get; init; }
    public bool HasChatTemplate { get; init; }
    /// <summary>added_tokens_decoder: id to (content, special).</summary>
    public IReadOnlyDictionary<int, AddedToken> AddedTokens { get; init; } = new Dictionary<int, AddedToken>();

    public static TokenizerConfig Load(string modelDir)
    {
        string path = Path.Combine(modelDir, "tokenizer_config.json");
        return File.Exists(path) ? Checkpoints.JsonFile.Read(path, Parse) : new TokenizerConfig();
    }

    /// <summary>
    /// Writes the tokenizer_config.json of a LLaMA SentencePiece tokenizer (&lt;s&gt;/&lt;/s&gt;/&lt;unk&gt;, BOS added,
    /// EOS not), what both converted llama2.c models and tokenizers trained by `gmsa data tokenizer` ship.
    /// </summary>
    public static void WriteLlama(string dir, int modelMaxLength)
    {
        var config = new JsonObject
        {
            ["tokenizer_class"] = "LlamaTokenizer",
            ["bos_token"] = "<s>",
            ["eos_token"] = "</s>",
            ["unk_token"] = "<unk>",
            ["add_bos_token"] = true,
            ["add_eos_token"] = false,
            ["model_max_length"] = modelMaxLength,
        };
        File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), config.ToJsonString(WriteOptions) + "\n");
    }

    /// <summary>Sets model_max_length in a folder's tokenizer_config.json, keeping every other field; no file, no change.</summary>
    public static void SetModelMaxLength(string dir, int modelMaxLength)
    {
        string path = Path.Combine(dir, "tokenizer_config.json");
        if (!File.Exists(path)) return;
        var config = Checkpoints.JsonFile.Read(path, json => JsonNode.Parse(json)?.AsObject()) ?? throw new InvalidDataException($"{path} is not a JSON object");
        config["model_max_length"] = modelMaxLength;
        File.WriteAllText(path, config.ToJsonString(WriteOptions) + "\n");
    }

    static readonly JsonSerializerOptions WriteOptions = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static TokenizerConfig Parse(string json)
    {
        using var doc = JsonDocument.Parse(json);
        JsonElement o = doc.RootElement;
        var added = new Dictionary<int, AddedToken>();
        if (o.TryGetProperty("added_tokens_decoder", out JsonElement dec) && dec.ValueKind == JsonValueKind.Object)
            foreach (JsonProperty p in dec.EnumerateObject())
            {
                int id = int.Parse(p.Name, System.Globalization.CultureInfo.InvariantCulture);
                added[id] = new AddedToken(id, p.Value.GetProperty("content").GetString()!,
                    p.Value.TryGetProperty("special", out JsonElement s) && s.ValueKind == JsonValueKind.True);
            }
        return new TokenizerConfig
        {
            BosToken = TokenString(o, "bos_token"),
            EosToken = TokenString(o, "eos_token"),
            PadToken = TokenString(o, "pad_token"),
            UnkToken = TokenString(o, "unk_token"),
            AddBosToken = Bool(o, "add_bos_token"),
            AddEosToken = Bool(o, "add_eos_token"),
            HasChatTemplate = o.TryGetProperty("chat_template", out JsonElement ct) && ct.ValueKind is JsonValueKind.String or JsonValueKind.Array,
            AddedTokens = added,
        };
    }

    private static string? TokenString(JsonElement o, string name)
    {
        if (!o.TryGetProperty(name, out JsonElement v)) return null;
        return v.ValueKind switch
        {
            JsonValueKind.String => v.GetString(),
            JsonValueKind.Object when v.TryGetProperty("content", out JsonElement c) => c.GetString(),
            _ => null,
        };
    }

    private static bool? Bool(JsonElement o, string name) =>
        o.TryGetProperty(name, out JsonElement v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : null;
}
