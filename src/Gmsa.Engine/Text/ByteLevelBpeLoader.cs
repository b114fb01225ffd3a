using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace Gmsa.Engine.Text;

/// <summary>One entry of tokenizer.json's <c>added_tokens</c>: matched verbatim before pre-tokenization.</summary>
public sealed record AddedToken(int Id, string Content, bool Special);

/// <summary>A byte-level BPE tokenizer built from a Hugging Face tokenizer.json, plus what the facade needs beside it.</summary>
public sealed class ByteLevelBpeModel
{
    internal ByteLevelBpeModel(BpeTokenizer tokenizer, IReadOnlyDictionary<string, int> vocabulary,
        IReadOnlyList<AddedToken> addedTokens, string? templateBosToken)
    {
        Tokenizer = tokenizer;
        Vocabulary = vocabulary;
        AddedTokens = addedTokens;
        TemplateBosToken = templateBosToken;
    }

    public BpeTokenizer Tokenizer { get; }

    /// <summary>model.vocab and the added tokens together, token string (byte-level spelling) to id.</summary>
    public IReadOnlyDictionary<string, int> Vocabulary { get; }

    public IReadOnlyList<AddedToken> AddedTokens { get; }

    /// <summary>The special token a TemplateProcessing post_processor puts first (LLaMA-3: &lt;|begin_of_text|&gt;), if any.</summary>
    public string? TemplateBosToken { get; }
}

/// <summary>
/// Builds a Microsoft.ML.Tokenizers <see cref="BpeTokenizer"/> from a Hugging Face tokenizer.json
/// (the package has no such loader). Supported: <c>model.type</c> BPE with a ByteLevel pre-tokenizer
/// or decoder (GPT-2, LLaMA-3, Qwen2/2.5/3): <c>model.vocab</c>, <c>model.merges</c> as "a b" strings
/// or [a, b] pairs, <c>added_tokens</c>, one Split regex (alone or in a Sequence with ByteLevel) or
/// ByteLevel's own GPT-2 regex, and an NFC normalizer. Anything else (WordPiece, Unigram,
/// SentencePiece-style BPE with Metaspace/byte_fallback, several Splits, add_prefix_space) throws
/// <see cref="NotSupportedException"/> naming the part. <c>ignore_merges</c> (LLaMA-3) is not
/// honoured: the package always applies merges, which can split a rare word the vocab holds whole.
/// </summary>
public static class ByteLevelBpeLoader
{
    /// <summary>GPT-2's pre-tokenization regex, used by a ByteLevel pre-tokenizer with use_regex true.</summary>
    internal const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    public static ByteLevelBpeModel Load(string tokenizerJsonPath)
    {
        try
        {
            return Checkpoints.JsonFile.Read(tokenizerJsonPath, json =>
            {
                using var doc = JsonDocument.Parse(json);
                return Load(doc.RootElement);
            });
        }
        catch (NotSupportedException e)
        {
            throw new NotSupportedException($"{tokenizerJsonPath}: {e.Message}", e);
        }
    }

    internal static ByteLevelBpeModel Load(JsonElement root)
    {
        if (UnsupportedReason(root) is string reason) throw new NotSupportedException(reason);
        JsonElement model = root.GetProperty("model");

        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (JsonProperty p in model.GetProperty("vocab").EnumerateObject()) vocab[p.Name] = p.Value.GetInt32();

        var merges = new List<string>();
        if (model.TryGetProperty("merges", out JsonElement mergesJson))
            foreach (JsonElement m in mergesJson.EnumerateArray()) merges.Add(MergeLine(m));

        var added = new List<AddedToken>();
        if (root.TryGetProperty("added_tokens", out JsonElement addedJson) && addedJson.ValueKind == JsonValueKind.Array)
            foreach (JsonElement t in addedJson.EnumerateArray())
                added.Add(new AddedToken(t.GetProperty("id").GetInt32(), t.GetProperty("content").GetString()!,
                    t.TryGetProperty("special", out JsonElement s) && s.ValueKind == JsonValueKind.True));

        // Added tokens are split out before the regex and never merged: the package's "special tokens".
        var special = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (AddedToken t in added)
        {
            special[t.Content] = t.Id;
            vocab[t.Content] = t.Id;
        }

        string pattern = SplitPattern(root.GetProperty("pre_tokenizer"));
        var options = new BpeOptions(vocab)
        {
            Merges = merges,
            SpecialTokens = special,
            ByteLevel = true,
            PreTokenizer = new RegexPreTokenizer(new Regex(pattern, RegexOptions.Compiled), special),
            Normalizer = HasNfc(root) ? NfcNormalizer.Instance : null,
        };
        return new ByteLevelBpeModel(BpeTokenizer.Create(options), vocab, added, TemplateBosToken(root));
    }

    /// <summary>Why this tokenizer.json cannot be loaded as byte-level BPE, or null when it can.</summary>
    internal static string? UnsupportedReason(JsonElement root)
    {
        if (!root.TryGetProperty("model", out JsonElement model) || model.ValueKind != JsonValueKind.Object)
            return "tokenizer.json has no model section";
        string type = model.TryGetProperty("type", out JsonElement t) ? t.GetString() ?? "" : "";
        if (type == "" && model.TryGetProperty("merges", out _)) type = "BPE";
        if (type != "BPE")
            return $"tokenizer model type '{type}' is not supported (only byte-level BPE is)";
        if (!Mentions(root, "pre_tokenizer", "ByteLevel") && !Mentions(root, "decoder", "ByteLevel"))
            return "BPE without a ByteLevel pre-tokenizer/decoder (SentencePiece-style, Metaspace or byte_fallback) " +
                   "is not supported from tokenizer.json; use the folder's tokenizer.model";
        if (!root.TryGetProperty("pre_tokenizer", out JsonElement pre) || pre.ValueKind != JsonValueKind.Object)
            return "tokenizer.json has no pre_tokenizer";
        try
        {
            SplitPattern(pre);
        }
        catch (NotSupportedException e)
        {
            return e.Message;
        }
        if (root.TryGetProperty("normalizer", out JsonElement norm) && norm.ValueKind == JsonValueKind.Object && !IsNfcOnly(norm))
            return $"normalizer '{norm.GetProperty("type").GetString()}' is not supported (only NFC is)";
        return null;
    }

    private static string MergeLine(JsonElement merge)
    {
        if (merge.ValueKind == JsonValueKind.String) return merge.GetString()!;
        string a = merge[0].GetString()!, b = merge[1].GetString()!;
        // Byte-level symbols never hold a real space (it is 'Ġ'), so "a b" is unambiguous.
        if (a.Contains(' ') || b.Contains(' '))
            throw new NotSupportedException($"merge [\"{a}\", \"{b}\"] contains a space, which a byte-level vocabulary cannot");
        return a + " " + b;
    }

    /// <summary>The regex that splits text into pre-tokens: the one Split's pattern, or GPT-2's for a regex-using ByteLevel.</summary>
    private static string SplitPattern(JsonElement pre)
    {
        var steps = new List<JsonElement>();
        if (pre.GetProperty("type").GetString() == "Sequence")
            steps.AddRange(pre.GetProperty("pretokenizers").EnumerateArray());
        else
            steps.Add(pre);

        string? pattern = null;
        foreach (JsonElement step in steps)
        {
            string stepType = step.GetProperty("type").GetString()!;
            if (stepType == "Split")
            {
                if (pattern is not null) throw new NotSupportedException("more than one Split pre-tokenizer is not supported");
                if (!step.GetProperty("pattern").TryGetProperty("Regex", out JsonElement regex))
                    throw new NotSupportedException("a Split pre-tokenizer with a String pattern is not supported (Regex is)");
                if (step.TryGetProperty("invert", out JsonElement inv) && inv.ValueKind == JsonValueKind.True)
                    throw new NotSupportedException("an inverted Split pre-tokenizer is not supported");
                string behavior = step.TryGetProperty("behavior", out JsonElement bh) ? bh.GetString()! : "Isolated";
                if (behavior != "Isolated")
                    throw new NotSupportedException($"Split behavior '{behavior}' is not supported (Isolated is)");
                pattern = regex.GetString()!;
            }
            else if (stepType == "ByteLevel")
            {
                if (step.TryGetProperty("add_prefix_space", out JsonElement aps) && aps.ValueKind == JsonValueKind.True)
                    throw new NotSupportedException("ByteLevel add_prefix_space = true is not supported");
                bool useRegex = !step.TryGetProperty("use_regex", out JsonElement ur) || ur.ValueKind != JsonValueKind.False;
                if (useRegex)
                {
                    if (pattern is not null) throw new NotSupportedException("a Split followed by a regex-using ByteLevel is not supported");
                    pattern = Gpt2Pattern;
                }
            }
            else
            {
                throw new NotSupportedException($"pre-tokenizer '{stepType}' is not supported (Split and ByteLevel are)");
            }
        }
        return pattern ?? throw new NotSupportedException("the pre-tokenizer defines no split regex");
    }

    private static bool HasNfc(JsonElement root) =>
        root.TryGetProperty("normalizer", out JsonElement n) && n.ValueKind == JsonValueKind.Object && IsNfcOnly(n);

    private static bool IsNfcOnly(JsonElement normalizer)
    {
        string type = normalizer.GetProperty("type").GetString()!;
        if (type == "NFC") return true;
        return type == "Sequence" && normalizer.GetProperty("normalizers").EnumerateArray().All(IsNfcOnly);
    }

    private static bool Mentions(JsonElement root, string section, string type)
    {
        if (!root.TryGetProperty(section, out JsonElement e) || e.ValueKind != JsonValueKind.Object) return false;
        if (e.GetProperty("type").GetString() == type) return true;
        string listName = section == "decoder" ? "decoders" : "pretokenizers";
        return e.TryGetProperty(listName, out JsonElement list) &&
               list.EnumerateArray().Any(x => x.GetProperty("type").GetString() == type);
    }

    private static string? TemplateBosToken(JsonElement root)
    {
        if (!root.TryGetProperty("post_processor", out JsonElement post) || post.ValueKind != JsonValueKind.Object) return null;
        var candidates = new List<JsonElement> { post };
        if (post.GetProperty("type").GetString() == "Sequence" && post.TryGetProperty("processors", out JsonElement ps))
            candidates.AddRange(ps.EnumerateArray());
        foreach (JsonElement p in candidates)
        {
            if (p.GetProperty("type").GetString() != "TemplateProcessing") continue;
            JsonElement single = p.GetProperty("single");
            if (single.GetArrayLength() > 0 && single[0].TryGetProperty("SpecialToken", out JsonElement first))
                return first.GetProperty("id").GetString();
        }
        return null;
    }
}
