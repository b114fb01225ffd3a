using System.Text.Json;
using System.Text.Json.Serialization;
using Gmsa.Engine.Checkpoints;
using Gmsa.Engine.Model;

namespace Gmsa.Engine.Compression;

/// <summary>How the encoder's states become n = ceil(L / r) vectors: GMSA's group means, or ICAE's memory tokens.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<CompressionMethod>))]
public enum CompressionMethod
{
    /// <summary>GMSA: the mean of each group of r consecutive encoder states.</summary>
    [JsonStringEnumMemberName("group-merge")] GroupMerge,
    /// <summary>ICAE-style baseline: n learned memory embeddings appended to the context; their encoder states are kept.</summary>
    [JsonStringEnumMemberName("memory-tokens")] MemoryTokens,
    /// <summary>
    /// The reference, no compression: the "soft tokens" are the context's own token embeddings (rate 1), so a stage-2
    /// run with it fine-tunes the decoder reading the full context, on the same recipe and data as GMSA's.
    /// </summary>
    [JsonStringEnumMemberName("none")] None,
}

/// <summary>What maps the merged vectors into the decoder's input-embedding space.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<AlignmentKind>))]
public enum AlignmentKind
{
    /// <summary>GMSA's Layer Semantic Alignment: k blocks copied from the decoder's first k, then its final norm.</summary>
    [JsonStringEnumMemberName("lsa")] Lsa,
    /// <summary>Ablation: the same blocks, randomly initialised.</summary>
    [JsonStringEnumMemberName("lsa-random")] LsaRandom,
    /// <summary>Ablation ("no LSA"): one linear projector.</summary>
    [JsonStringEnumMemberName("linear")] Linear,
    /// <summary>Nothing: the encoder's states are read as they are (ICAE).</summary>
    [JsonStringEnumMemberName("none")] None,
}

/// <summary>
/// gmsa_config.json: everything that shapes a compressor besides its weights. One set of weights serves every
/// rate >= 1; <see cref="Rates"/> lists the ones it was trained on (and drawn from per training sample).
/// </summary>
public sealed record CompressorConfig
{
    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };

    public const string FileName = "gmsa_config.json";

    /// <summary>The rates a caller may ask for, one bound for the service's requests and the command line's --rate.</summary>
    public const int MinRate = 1, MaxRate = 1024;

    /// <summary>The backbone the compressor was trained on (its folder name, or a hub id).</summary>
    public string BaseModel { get; init; } = "";
    public CompressionMethod Method { get; init; } = CompressionMethod.GroupMerge;
    public AlignmentKind Alignment { get; init; } = AlignmentKind.Lsa;
    /// <summary>The backbone's first blocks that form the encoder (the paper: 8 of 28).</summary>
    public int EncoderLayers { get; init; } = 8;
    /// <summary>Blocks in the alignment stack, copied from the decoder's first ones (the paper's best: 1).</summary>
    public int AlignmentLayers { get; init; } = 1;
    public int LoraRank { get; init; } = 128;
    public double LoraAlpha { get; init; } = 32;
    public double LoraDropout { get; init; } = 0.05;
    public IReadOnlyList<int> Rates { get; init; } = [4, 8];
    /// <summary>Contexts longer than this are cut into segments compressed independently (the encoder's window).</summary>
    public int SegmentLength { get; init; } = 512;
    /// <summary>The fixed instruction of stage 1.</summary>
    public string AutoencoderPrompt { get; init; } = "Restate the aforementioned Text.";
    /// <summary>Rank of the decoder's own adapters (0 = none: the decoder reads soft tokens unchanged).</summary>
    public int DecoderLoraRank { get; init; }
    public double DecoderLoraAlpha { get; init; } = 32;

    [JsonIgnore] public LoraOptions EncoderLora => new(LoraRank, LoraAlpha, LoraDropout);
    [JsonIgnore] public LoraOptions? DecoderLora => DecoderLoraRank > 0 ? new(DecoderLoraRank, DecoderLoraAlpha, LoraDropout) : null;
    [JsonIgnore] public int MaxMemoryTokens => (SegmentLength + Rates.Min() - 1) / Rates.Min();

    public void Validate(ModelConfig backbone)
    {
        if (EncoderLayers < 1 || EncoderLayers > backbone.NumHiddenLayers)
            throw new ArgumentException($"encoder_layers must lie in 1..{backbone.NumHiddenLayers} (the backbone's layers), got {EncoderLayers}");
        if (Alignment is AlignmentKind.Lsa or AlignmentKind.LsaRandom && (AlignmentLayers < 1 || AlignmentLayers > backbone.NumHiddenLayers))
            throw new ArgumentException($"alignment_layers must lie in 1..{backbone.NumHiddenLayers}, got {AlignmentLayers}");
        if (Rates.Count == 0 || Rates.Any(r => r < 1)) throw new ArgumentException("rates must be a non-empty list of integers >= 1");
        if (Method == CompressionMethod.None && (Alignment != AlignmentKind.None || Rates.Any(r => r != 1)))
            throw new ArgumentException("method 'none' (the full-context reference) reads token embeddings as they are: alignment 'none', rates [1]");
        if (SegmentLength < 1 || SegmentLength > backbone.ContextLength)
            throw new ArgumentException($"segment_length must lie in 1..{backbone.ContextLength} (the backbone's context), got {SegmentLength}");
        EncoderLora.Validate();
        DecoderLora?.Validate();
    }

    public static CompressorConfig Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path} does not exist", path);
        return JsonFile.Read(path, json => JsonSerializer.Deserialize<CompressorConfig>(json, Json)) ?? throw new InvalidDataException($"{path} is empty");
    }

    public string ToJson() => JsonSerializer.Serialize(this, Json);
}
