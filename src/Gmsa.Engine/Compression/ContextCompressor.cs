using Gmsa.Engine.Checkpoints;
using Gmsa.Engine.Model;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Gmsa.Engine.Compression;

// Legend: B batch (segments), L segment tokens (padded), n soft tokens (padded), D hidden, r rate.

/// <summary>
/// GMSA's compressor: <c>encoder</c> (the backbone's first N blocks with LoRA on every projection, then its final
/// norm) reads a segment; Group Merging averages its states in groups of r; <c>memory_fusion_layer</c> (Layer
/// Semantic Alignment: k blocks copied from the decoder's bottom, then the decoder's final norm, frozen) maps the
/// means into the decoder's input-embedding space. The outputs are the soft tokens the decoder reads in place of
/// the text. The ablations and the ICAE-style baseline swap one part each (<see cref="CompressorConfig"/>).
/// Key names follow the official code: encoder.*, memory_fusion_layer.*, semantic_alignment_layer.*.
/// </summary>
public sealed class ContextCompressor : nn.Module
{
    readonly DecoderModel encoder;                     // embed_tokens, layers 0..N-1, norm
    readonly DecoderModel? memory_fusion_layer;        // layers 0..k-1, norm (LSA)
    readonly Linear? semantic_alignment_layer;         // D -> D (the no-LSA ablation)
    readonly Parameter? memory_tokens;                 // [max n, D] (ICAE-style baseline)

    ContextCompressor(CompressorConfig config, ModelConfig backbone, ScalarType dtype, Device device) : base(nameof(ContextCompressor))
    {
        Config = config;
        Backbone = backbone;
        encoder = new DecoderModel(backbone with { NumHiddenLayers = config.EncoderLayers }, dtype, device);
        if (config.Alignment is AlignmentKind.Lsa or AlignmentKind.LsaRandom)
            memory_fusion_layer = new DecoderModel(backbone with { NumHiddenLayers = config.AlignmentLayers }, dtype, device, withEmbeddings: false);
        if (config.Alignment == AlignmentKind.Linear)
            semantic_alignment_layer = nn.Linear(backbone.HiddenSize, backbone.HiddenSize, hasBias: true, device: device, dtype: dtype);
        if (config.Method == CompressionMethod.MemoryTokens)
            memory_tokens = new Parameter(zeros(config.MaxMemoryTokens, backbone.HiddenSize, dtype: dtype, device: device));
        RegisterComponents();
    }

    public CompressorConfig Config { get; internal set; }
    public ModelConfig Backbone { get; }

    /// <summary>
    /// A fresh compressor for <paramref name="decoder"/>: encoder and alignment blocks copied from its weights, new
    /// encoder adapters, a random projector or memory tokens where the config asks for them, all seeded.
    /// </summary>
    public static ContextCompressor FromBackbone(CausalLM decoder, CompressorConfig config, long seed)
    {
        config.Validate(decoder.Config);
        var compressor = new ContextCompressor(config, decoder.Config, decoder.DType, decoder.Device);
        try
        {
            var weights = decoder.state_dict();
            SubsetLoad.Copy("the decoder", compressor.encoder, weights, key => "model." + key);
            using var noGrad = no_grad();
            var generator = new Generator((ulong)seed, decoder.Device);
            if (compressor.memory_fusion_layer is { } lsa)
            {
                if (config.Alignment == AlignmentKind.Lsa)
                    SubsetLoad.Copy("the decoder", lsa, weights, key => "model." + key);
                else
                    foreach (var (name, p) in lsa.named_parameters())
                        if (name.EndsWith("norm.weight")) p.copy_(weights["model." + name]); // the frozen final norm is the decoder's
                        else if (name.EndsWith(".bias")) p.zero_();
                        else p.normal_(0, 0.02, generator);
            }
            if (compressor.memory_tokens is { } memory)
            {
                double std = weights["model.embed_tokens.weight"].to(ScalarType.Float32).std().item<float>();
                memory.normal_(0, std, generator);
            }
            Lora.AddAdapters(compressor.encoder, config.EncoderLora, seed);
            compressor.FreezeBase();
        }
        catch
        {
            compressor.Dispose();
            throw;
        }
        return compressor;
    }

    /// <summary>An empty compressor of the right shape (adapters included), for loading saved weights into.</summary>
    internal static ContextCompressor Empty(CompressorConfig config, ModelConfig backbone, ScalarType dtype, Device device)
    {
        config.Validate(backbone);
        var compressor = new ContextCompressor(config, backbone, dtype, device);
        Lora.AddAdapters(compressor.encoder, config.EncoderLora, seed: 0);
        compressor.FreezeBase();
        return compressor;
    }

    internal DecoderModel Encoder => encoder;
    internal DecoderModel? AlignmentStack => memory_fusion_layer;

    /// <summary>
    /// What stage 1 trains: the encoder's adapters and the alignment (LSA blocks, not their frozen norm; or the
    /// projector; or the memory tokens). Everything else is frozen at construction.
    /// </summary>
    public IReadOnlyList<(string Name, Parameter Parameter)> TrainableParameters() =>
        named_parameters().Where(p => IsTrainable(p.name)).Select(p => (p.name, p.parameter)).ToArray();

    static bool IsTrainable(string name) =>
        Lora.IsAdapterKey(name)
        || (name.StartsWith("memory_fusion_layer.layers.", StringComparison.Ordinal))
        || name.StartsWith("semantic_alignment_layer.", StringComparison.Ordinal)
        || name == "memory_tokens";

    void FreezeBase()
    {
        foreach (var (name, p) in named_parameters()) p.requires_grad = IsTrainable(name);
    }

    /// <summary>
    /// Compresses a batch of segments. <paramref name="ids"/> [B, L] holds each row's tokens first, padding after;
    /// row b gives ceil(lengths[b] / rates[b]) soft tokens.
    /// </summary>
    /// <returns>soft tokens [B, n_max, D] (row b valid in its first counts[b]) and the counts</returns>
    public (Tensor Soft, int[] Counts) Compress(Tensor ids, IReadOnlyList<int> lengths, IReadOnlyList<int> rates)
    {
        long b = ids.shape[0], l = ids.shape[1];
        if (lengths.Count != b || rates.Count != b) throw new ArgumentException($"need one length and one rate per row ({b})");
        if (lengths.Any(n => n < 1 || n > l)) throw new ArgumentException($"segment lengths must lie in 1..{l}");
        if (l > Config.SegmentLength && Config.Method == CompressionMethod.MemoryTokens)
            throw new ArgumentException($"segments must be at most {Config.SegmentLength} tokens");
        if (Config.Method == CompressionMethod.MemoryTokens && lengths.Select((n, row) => GroupMerge.MergedLength(n, rates[row])).Max() is var most
            && most > Config.MaxMemoryTokens)
            throw new ArgumentException($"this memory-token compressor has {Config.MaxMemoryTokens} memory tokens, one per {Config.Rates.Min()} tokens " +
                $"of a {Config.SegmentLength}-token segment; a rate below its smallest trained rate ({Config.Rates.Min()}) would need {most}");
        using var scope = NewDisposeScope();
        var (merged, counts) = Config.Method switch
        {
            CompressionMethod.GroupMerge => MergeGroups(ids, lengths, rates),
            CompressionMethod.MemoryTokens => ReadMemoryTokens(ids, lengths, rates),
            _ => (encoder.EmbedTokens.forward(ids), lengths.ToArray()),                    // the text itself, as the decoder embeds it
        };                                                                                 // [B, n, D]
        var soft = Config.Alignment switch
        {
            AlignmentKind.Lsa or AlignmentKind.LsaRandom => memory_fusion_layer!.forward(inputsEmbeds: merged),   // right-padded: no mask (see MergeGroups)
            AlignmentKind.Linear => semantic_alignment_layer!.forward(merged),
            _ => merged,
        };
        return (soft.MoveToOuterDisposeScope(), counts);
    }

    (Tensor, int[]) MergeGroups(Tensor ids, IReadOnlyList<int> lengths, IReadOnlyList<int> rates)
    {
        // Rows are right-padded, so causal attention alone keeps every real token from seeing padding (it only ever
        // comes after them) and positions run 0.. in every row: no mask, hence the fast causal kernels in a padded batch.
        // The states at padded positions are never read (Group Merging averages each row's first lengths[b]).
        var hidden = encoder.forward(ids);                                                          // [B, L, D]
        return GroupMerge.Merge(hidden, lengths, rates);
    }

    /// <summary>ICAE: [context ; n memory embeddings] per row, packed then right-padded; the states at the memory slots.</summary>
    (Tensor, int[]) ReadMemoryTokens(Tensor ids, IReadOnlyList<int> lengths, IReadOnlyList<int> rates)
    {
        var counts = lengths.Select((n, row) => GroupMerge.MergedLength(n, rates[row])).ToArray();
        var embedded = encoder.EmbedTokens.forward(ids);                                          // [B, L, D]
        var rows = counts.Select((n, row) => cat([embedded[row].narrow(0, 0, lengths[row]), memory_tokens!.narrow(0, 0, n)], 0)).ToList();
        var totals = rows.Select(r => (int)r.shape[0]).ToArray();
        var packed = PadRows(rows, totals.Max());                                                 // [B, L + n, D]
        var hidden = encoder.forward(inputsEmbeds: packed);                                       // right-padded: no mask
        var slots = counts.Select((n, row) => hidden[row].narrow(0, lengths[row], n)).ToList();
        return (PadRows(slots, counts.Max()), counts);                                            // [B, n, D]
    }

    /// <summary>Stacks rows [len_b, D] into [B, width, D], each row first and zeros after.</summary>
    internal static Tensor PadRows(IReadOnlyList<Tensor> rows, long width) =>
        stack(rows.Select(r => r.shape[0] == width ? r : nn.functional.pad(r, [0, 0, 0, width - r.shape[0]])).ToArray());
}
