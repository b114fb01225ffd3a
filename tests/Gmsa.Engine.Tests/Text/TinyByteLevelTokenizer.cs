using System.Text.Json.Nodes;
using Gmsa.Engine.Text;

namespace Gmsa.Engine.Tests.Text;

/// <summary>
/// Writes a hand-made byte-level BPE tokenizer.json (Qwen2-shaped) into a temp folder:
/// ids 0-255 are the 256 byte symbols (id = byte value), then these merges in rank order:
/// <code>
///   256 "ll"    = l + l          259 "hello" = hell + o
///   257 "he"    = h + e          260 "Ġt"    = Ġ + t
///   258 "hell"  = he + ll        261 "Ġthe"  = Ġt + he
/// </code>
/// and added tokens 262 &lt;|endoftext|&gt;, 263 &lt;|im_start|&gt;, 264 &lt;|im_end|&gt; (all special).
/// So "hello the world" is [259, 261, 32 'Ġ', 119 w, 111 o, 114 r, 108 l, 100 d].
/// </summary>
internal sealed class TinyByteLevelTokenizer : IDisposable
{
    public const string QwenSplitPattern =
        @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    private static readonly (string A, string B)[] Merges =
        [("l", "l"), ("h", "e"), ("he", "ll"), ("hell", "o"), ("Ġ", "t"), ("Ġt", "he")];

    public TinyByteLevelTokenizer(bool mergesAsPairs = false, string? templateBos = null, JsonObject? tokenizerConfig = null,
        JsonObject? config = null, string[]? extraAddedTokens = null)
    {
        Dir = Directory.CreateTempSubdirectory("gmsa-tok-").FullName;

        var vocab = new JsonObject();
        for (int b = 0; b < 256; b++) vocab[ByteLevelAlphabet.ByteToChar((byte)b).ToString()] = b;
        var merges = new JsonArray();
        int next = 256;
        foreach ((string a, string b) in Merges)
        {
            vocab[a + b] = next++;
            merges.Add(mergesAsPairs ? new JsonArray(a, b) : (JsonNode)$"{a} {b}");
        }

        var added = new JsonArray();
        foreach (string content in new[] { "<|endoftext|>", "<|im_start|>", "<|im_end|>" }.Concat(extraAddedTokens ?? []))
            added.Add(new JsonObject { ["id"] = next++, ["content"] = content, ["special"] = true });

        var json = new JsonObject
        {
            ["version"] = "1.0",
            ["added_tokens"] = added,
            ["normalizer"] = new JsonObject { ["type"] = "NFC" },
            ["pre_tokenizer"] = new JsonObject
            {
                ["type"] = "Sequence",
                ["pretokenizers"] = new JsonArray(
                    new JsonObject
                    {
                        ["type"] = "Split", ["pattern"] = new JsonObject { ["Regex"] = QwenSplitPattern },
                        ["behavior"] = "Isolated", ["invert"] = false,
                    },
                    new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = false, ["use_regex"] = false }),
            },
            ["post_processor"] = templateBos is null
                ? new JsonObject { ["type"] = "ByteLevel" }
                : new JsonObject
                {
                    ["type"] = "TemplateProcessing",
                    ["single"] = new JsonArray(
                        new JsonObject { ["SpecialToken"] = new JsonObject { ["id"] = templateBos, ["type_id"] = 0 } },
                        new JsonObject { ["Sequence"] = new JsonObject { ["id"] = "A", ["type_id"] = 0 } }),
                },
            ["decoder"] = new JsonObject { ["type"] = "ByteLevel" },
            ["model"] = new JsonObject
            {
                ["type"] = "BPE", ["dropout"] = null, ["unk_token"] = null, ["byte_fallback"] = false,
                ["vocab"] = vocab, ["merges"] = merges,
            },
        };
        File.WriteAllText(Path.Combine(Dir, "tokenizer.json"), json.ToJsonString());
        tokenizerConfig ??= new JsonObject
        {
            ["bos_token"] = null, ["eos_token"] = "<|im_end|>", ["pad_token"] = "<|endoftext|>", ["add_bos_token"] = false,
        };
        File.WriteAllText(Path.Combine(Dir, "tokenizer_config.json"), tokenizerConfig.ToJsonString());
        if (config is not null) File.WriteAllText(Path.Combine(Dir, "config.json"), config.ToJsonString());
    }

    public string Dir { get; }

    public void Dispose() => Directory.Delete(Dir, recursive: true);
}
