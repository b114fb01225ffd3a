using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.ML.Tokenizers;

namespace Gmsa.Engine.Text;

/// <summary>
/// The engine's tokenizer: text to ids and back for a model folder, whichever format it ships.
/// <list type="bullet">
/// <item>tokenizer.json with byte-level BPE (Qwen2/2.5/3, LLaMA-3, GPT-2), via <see cref="ByteLevelBpeLoader"/>.</item>
/// <item>tokenizer.model, SentencePiece BPE (LLaMA-1/2, Mistral, llama2.c's tok512), via <see cref="LlamaTokenizer"/>;
/// also chosen when a tokenizer.json is present but not byte-level (LLaMA-2's Metaspace/byte_fallback form).
/// LLaMA-3's original tiktoken-format tokenizer.model is rejected: use the folder's tokenizer.json.</item>
/// </list>
/// Special tokens come from tokenizer_config.json (bos/eos/pad/unk_token, add_bos_token,
/// added_tokens_decoder); SentencePiece falls back to &lt;s&gt;/&lt;/s&gt;/&lt;unk&gt;. Decoding is done here, byte
/// by byte, so that <see cref="Decode"/> and <see cref="TokenStreamDecoder"/> share one code path.
/// </summary>
public sealed class TextTokenizer
{
    private readonly Tokenizer _inner;
    private readonly bool _isSentencePiece;
    private readonly string?[] _tokens;                 // id -> token as spelled in the vocab
    private readonly Dictionary<string, int> _ids;
    private readonly bool[] _special;                   // left out by Decode(skipSpecialTokens: true)
    private readonly bool[] _verbatim;                  // byte-level added tokens: decode as their content
    private readonly bool _byteFallback, _stripDummyPrefix;

    private TextTokenizer(Tokenizer inner, bool isSentencePiece, IReadOnlyDictionary<string, int> vocab,
        IEnumerable<AddedToken> added, TokenizerConfig config, string? defaultBos, string? defaultEos, string? defaultUnk,
        bool defaultAddBos, bool byteFallback, bool stripDummyPrefix)
    {
        _inner = inner;
        _isSentencePiece = isSentencePiece;
        _byteFallback = byteFallback;
        _stripDummyPrefix = stripDummyPrefix;
        _ids = new Dictionary<string, int>(vocab, StringComparer.Ordinal);
        int size = vocab.Count == 0 ? 0 : vocab.Values.Max() + 1;
        _tokens = new string?[size];
        foreach ((string token, int id) in vocab) _tokens[id] = token;
        _special = new bool[size];
        _verbatim = new bool[size];
        foreach (AddedToken t in added.Where(t => t.Id < size))
        {
            _special[t.Id] |= t.Special;
            _verbatim[t.Id] = !isSentencePiece;
        }

        BosId = Id(config.BosToken ?? defaultBos);
        EosId = Id(config.EosToken ?? defaultEos);
        PadId = Id(config.PadToken);
        UnkId = Id(config.UnkToken ?? defaultUnk);
        foreach (int? id in new[] { BosId, EosId, PadId, UnkId })
            if (id is int i) _special[i] = true;
        AddBosToken = (config.AddBosToken ?? defaultAddBos) && BosId is not null;
        AddEosToken = (config.AddEosToken ?? false) && EosId is not null;
    }

    /// <summary>Which file format the tokenizer came from, for display.</summary>
    public string Kind => _isSentencePiece ? "SentencePiece (tokenizer.model)" : "byte-level BPE (tokenizer.json)";

    /// <summary>Number of ids, holes included: one more than the largest id.</summary>
    public int VocabSize => _tokens.Length;
    public int? BosId { get; }
    public int? EosId { get; }
    public int? PadId { get; }
    public int? UnkId { get; }

    /// <summary>Whether <see cref="Encode"/> puts BOS first (tokenizer_config's add_bos_token; SentencePiece defaults to true).</summary>
    public bool AddBosToken { get; }

    /// <summary>tokenizer_config's add_eos_token. Encode never appends EOS on its own: pass this as addEos where wanted.</summary>
    public bool AddEosToken { get; }

    /// <summary>
    /// Loads the tokenizer of a model folder (tokenizer.json, else tokenizer.model), or of a single
    /// file (*.json or a SentencePiece *.model, e.g. llama2.c's tok512.model) with the
    /// tokenizer_config.json beside it, if any.
    /// </summary>
    public static TextTokenizer Load(string modelDirOrFile)
    {
        if (File.Exists(modelDirOrFile))
        {
            string dir = Path.GetDirectoryName(Path.GetFullPath(modelDirOrFile))!;
            return modelDirOrFile.EndsWith(".json", StringComparison.OrdinalIgnoreCase)
                ? FromByteLevel(ByteLevelBpeLoader.Load(modelDirOrFile), TokenizerConfig.Load(dir))
                : FromSentencePiece(modelDirOrFile, TokenizerConfig.Load(dir));
        }
        if (!Directory.Exists(modelDirOrFile))
            throw new DirectoryNotFoundException($"tokenizer folder not found: {modelDirOrFile}");

        TokenizerConfig config = TokenizerConfig.Load(modelDirOrFile);
        string jsonPath = Path.Combine(modelDirOrFile, "tokenizer.json");
        string spmPath = Path.Combine(modelDirOrFile, "tokenizer.model");
        if (File.Exists(jsonPath))
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(jsonPath));
            string? reason = ByteLevelBpeLoader.UnsupportedReason(doc.RootElement);
            if (reason is null) return FromByteLevel(ByteLevelBpeLoader.Load(doc.RootElement), config);
            if (!File.Exists(spmPath)) throw new NotSupportedException($"{jsonPath}: {reason}");
        }
        if (File.Exists(spmPath)) return FromSentencePiece(spmPath, config);
        throw new FileNotFoundException($"no tokenizer.json or tokenizer.model in {modelDirOrFile}");
    }

    /// <summary>Token ids of <paramref name="text"/>; BOS first when <paramref name="addBos"/> and the tokenizer adds one.</summary>
    public IReadOnlyList<int> Encode(string text, bool addBos = true, bool addEos = false)
    {
        ArgumentNullException.ThrowIfNull(text);
        bool bos = addBos && AddBosToken, eos = addEos && EosId is not null;
        // The package returns nothing for "" even when asked for BOS; an empty prompt is just BOS.
        if (text.Length == 0) return [.. bos ? [BosId!.Value] : Array.Empty<int>(), .. eos ? [EosId!.Value] : Array.Empty<int>()];
        if (_inner is SentencePieceTokenizer sp && (!bos || BosId == sp.BeginningOfSentenceId) && (!eos || EosId == sp.EndOfSentenceId))
            return sp.EncodeToIds(text, bos, eos, considerPreTokenization: true, considerNormalization: true);

        IReadOnlyList<int> body = _inner is SentencePieceTokenizer s
            ? s.EncodeToIds(text, false, false, considerPreTokenization: true, considerNormalization: true)
            : _inner.EncodeToIds(text);
        var ids = new List<int>(body.Count + 2);
        if (bos) ids.Add(BosId!.Value);
        ids.AddRange(body);
        if (eos) ids.Add(EosId!.Value);
        return ids;
    }

    /// <summary>Text of <paramref name="ids"/>; a trailing incomplete UTF-8 sequence becomes U+FFFD.</summary>
    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = true)
    {
        var decoder = new TokenStreamDecoder(this, skipSpecialTokens);
        var sb = new StringBuilder();
        foreach (int id in ids) sb.Append(decoder.Push(id));
        return sb.Append(decoder.Flush()).ToString();
    }

    /// <summary>A decoder for ids arriving one by one; see <see cref="TokenStreamDecoder"/>.</summary>
    public TokenStreamDecoder CreateStreamDecoder(bool skipSpecialTokens = true) => new(this, skipSpecialTokens);

    /// <summary>The token as the vocabulary spells it ("▁Once", "Ġhello", "&lt;0x0A&gt;", "&lt;|im_end|&gt;"), or null.</summary>
    public string? TokenText(int id) => (uint)id < (uint)_tokens.Length ? _tokens[id] : null;

    /// <summary>The id of a token spelled as in the vocabulary (special tokens included), or null.</summary>
    public int? TokenId(string token) => _ids.TryGetValue(token, out int id) ? id : null;

    /// <summary>
    /// Appends the UTF-8 bytes token <paramref name="id"/> contributes. <paramref name="seenText"/>
    /// tracks whether an ordinary SentencePiece piece came before: the first one loses the dummy-prefix
    /// space, as SentencePiece's own decoder does.
    /// </summary>
    internal void AppendTokenBytes(int id, bool skipSpecialTokens, ref bool seenText, List<byte> sink)
    {
        string token = TokenText(id) ?? throw new ArgumentOutOfRangeException(nameof(id), id,
            $"token id is not in the vocabulary (size {VocabSize})");
        if (_special[id])
        {
            if (!skipSpecialTokens) AppendUtf8(token, sink);
            return;
        }
        if (!_isSentencePiece)
        {
            if (_verbatim[id])
            {
                AppendUtf8(token, sink);
                return;
            }
            foreach (char c in token)
            {
                if (ByteLevelAlphabet.TryCharToByte(c, out byte b)) sink.Add(b);
                else AppendUtf8(c.ToString(), sink); // not produced by byte-level encoding; keep it readable
            }
            return;
        }
        if (_byteFallback && TryParseByteToken(token, out byte raw))
        {
            sink.Add(raw);
            return;
        }
        string text = token.Replace('▁', ' ');
        if (!seenText && _stripDummyPrefix && text.StartsWith(' ')) text = text[1..];
        seenText = true;
        AppendUtf8(text, sink);
    }

    private static TextTokenizer FromByteLevel(ByteLevelBpeModel model, TokenizerConfig config)
    {
        bool defaultAddBos = model.TemplateBosToken is not null && (config.BosToken ?? model.TemplateBosToken) == model.TemplateBosToken;
        IEnumerable<AddedToken> added = model.AddedTokens.Concat(config.AddedTokens.Values);
        return new TextTokenizer(model.Tokenizer, isSentencePiece: false, model.Vocabulary, added, config,
            defaultBos: model.TemplateBosToken, defaultEos: null, defaultUnk: null, defaultAddBos,
            byteFallback: false, stripDummyPrefix: false);
    }

    private static TextTokenizer FromSentencePiece(string path, TokenizerConfig config)
    {
        byte[] bytes = File.ReadAllBytes(path);
        if (LooksLikeTiktoken(bytes))
            throw new NotSupportedException($"{path} is a tiktoken-format file (LLaMA-3's original tokenizer.model), " +
                                            "not SentencePiece; use the Hugging Face tokenizer.json for this model");

        SentencePieceTokenizer plain;
        // The protobuf reader's error (an IOException over this MemoryStream) names neither the file nor what it should be.
        try { plain = LlamaTokenizer.Create(new MemoryStream(bytes), addBeginOfSentence: false); }
        catch (IOException e) { throw new InvalidDataException($"'{path}' is not a SentencePiece model ({e.Message})", e); }
        IReadOnlyDictionary<string, int> vocab = plain.Vocabulary;

        // Special strings in text ("</s><s>[INST]" in LLaMA-2 chat prompts) must map to their ids, not be spelled out.
        var special = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (string? s in new[] { config.BosToken ?? plain.BeginningOfSentenceToken, config.EosToken ?? plain.EndOfSentenceToken,
                     config.UnkToken ?? plain.UnknownToken, config.PadToken })
            if (s is not null && vocab.TryGetValue(s, out int id)) special[s] = id;
        foreach (AddedToken t in config.AddedTokens.Values.Where(t => vocab.ContainsKey(t.Content)))
            special[t.Content] = vocab[t.Content];

        SentencePieceTokenizer sp = LlamaTokenizer.Create(new MemoryStream(bytes), addBeginOfSentence: false, specialTokens: special);
        return new TextTokenizer(sp, isSentencePiece: true, vocab, config.AddedTokens.Values, config,
            defaultBos: plain.BeginningOfSentenceToken, defaultEos: plain.EndOfSentenceToken, defaultUnk: plain.UnknownToken,
            defaultAddBos: true, byteFallback: sp.ByteFallback, stripDummyPrefix: sp.AddDummyPrefix && !sp.TreatWhitespaceAsSuffix);
    }

    /// <summary>tiktoken files are lines of "base64 rank"; a SentencePiece model is protobuf and opens with field 1 (0x0A).</summary>
    private static bool LooksLikeTiktoken(byte[] bytes)
    {
        int end = Array.IndexOf(bytes, (byte)'\n');
        if (bytes.Length == 0 || bytes[0] == 0x0A || end <= 0) return false;
        string firstLine = Encoding.ASCII.GetString(bytes, 0, end);
        string[] parts = firstLine.Split(' ');
        return parts.Length == 2 && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out _) &&
               parts[0].All(c => char.IsAsciiLetterOrDigit(c) || c is '+' or '/' or '=');
    }

    private static bool TryParseByteToken(string token, out byte value)
    {
        value = 0;
        return token.Length == 6 && token.StartsWith("<0x", StringComparison.Ordinal) && token[5] == '>' &&
               byte.TryParse(token.AsSpan(3, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value);
    }

    private int? Id(string? token) => token is not null && _ids.TryGetValue(token, out int id) ? id : null;

    private static void AppendUtf8(string text, List<byte> sink) => sink.AddRange(Encoding.UTF8.GetBytes(text));
}
