using Gmsa.Engine.Checkpoints;
using Gmsa.Engine.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace Gmsa.Engine.Compression;

/// <summary>
/// Reads the official GMSA code's checkpoint (github.com/Twilightaaa/GMSA: one <c>model.safetensors</c>, the
/// state_dict of its <c>GMSA</c> module) into a <see cref="ContextCompressor"/> and the decoder, so a compressor
/// trained there runs here. Its children are <c>encoder</c> (PEFT's <c>get_peft_model</c> over the backbone cut to
/// N layers, LoRA on all linear layers), <c>decoder</c> (the full backbone), <c>memory_fusion_layer</c> (a k-layer
/// copy of the backbone: the LSA) and <c>semantic_alignment_layer</c> (nn.Linear(D, D), built even when the LSA is
/// used). The one key mapping, i = layer, p = a projection path (<c>self_attn.q_proj</c> .. <c>mlp.down_proj</c>),
/// X = A or B:
/// <list type="table">
/// <listheader><term>reference key</term><description>our key</description></listheader>
/// <item><term><c>encoder.base_model.model.model.embed_tokens.weight</c></term><description><c>encoder.embed_tokens.weight</c> (frozen)</description></item>
/// <item><term><c>encoder.base_model.model.model.layers.{i}.{p}.base_layer.{weight|bias}</c></term><description><c>encoder.layers.{i}.{p}.{weight|bias}</c> (frozen)</description></item>
/// <item><term><c>encoder.base_model.model.model.layers.{i}.{p}.lora_X.default.weight</c></term><description><c>encoder.layers.{i}.{p}.lora_X.weight</c> (trained)</description></item>
/// <item><term><c>encoder.base_model.model.model.layers.{i}.{norm}.weight</c> (input_layernorm, post_attention_layernorm, self_attn.q_norm/k_norm)</term><description><c>encoder.layers.{i}.{norm}.weight</c> (frozen)</description></item>
/// <item><term><c>encoder.base_model.model.model.norm.weight</c></term><description><c>encoder.norm.weight</c> (frozen)</description></item>
/// <item><term><c>memory_fusion_layer.model.layers.{i}.*</c></term><description><c>memory_fusion_layer.layers.{i}.*</c> (trained; LSA)</description></item>
/// <item><term><c>memory_fusion_layer.model.norm.weight</c></term><description><c>memory_fusion_layer.norm.weight</c> (frozen; LSA)</description></item>
/// <item><term><c>semantic_alignment_layer.{weight|bias}</c></term><description><c>semantic_alignment_layer.{weight|bias}</c> (trained; linear alignment only)</description></item>
/// <item><term><c>decoder.{key}</c></term><description>the decoder's <c>{key}</c> (stage 2 fine-tunes them)</description></item>
/// <item><term><c>encoder.base_model.model.lm_head.*</c>, <c>memory_fusion_layer.model.embed_tokens.weight</c>, <c>memory_fusion_layer.lm_head.weight</c>, <c>semantic_alignment_layer.*</c> with the LSA, <c>decoder.lm_head.weight</c> with tied embeddings, <c>*.rotary_emb.inv_freq</c></term><description>ignored: no weights of ours (see <see cref="Ignored"/>)</description></item>
/// </list>
/// The reference loads with strict=False, so a file may hold only the trained parts. Trained parts must be in the
/// file. Frozen parts (copies of the backbone) are read from the file when it holds them, else from the decoder as
/// given, before any <c>decoder.*</c> weights of the file replace its own. <c>decoder.*</c> is all or nothing.
/// </summary>
public static class ReferenceCheckpoint
{
    public const string FileName = "model.safetensors";

    const string EncoderPrefix = "encoder.base_model.model.model.", FusionPrefix = "memory_fusion_layer.model.", DecoderPrefix = "decoder.";

    /// <summary>
    /// Builds a compressor of <paramref name="config"/>'s shape, corrected by what the file shows
    /// (<see cref="InferConfig(string, CompressorConfig)"/>), for <paramref name="decoder"/>'s backbone, fills it
    /// from the file, and puts the file's fine-tuned decoder weights (if any) into <paramref name="decoder"/>.
    /// </summary>
    /// <param name="path">the <c>model.safetensors</c>, or the folder holding it</param>
    /// <param name="decoder">the base model the checkpoint was trained from</param>
    /// <param name="config">what the file does not tell: alignment kind, rates, segment length, LoRA alpha</param>
    /// <exception cref="CheckpointMismatchException">keys missing, unexpected or of the wrong shape, all listed</exception>
    public static ContextCompressor Load(string path, CausalLM decoder, CompressorConfig config)
    {
        path = Resolve(path);
        var header = SafeTensors.ReadHeader(path);
        var inferred = InferConfig(header, config, path);
        var compressor = ContextCompressor.Empty(inferred, decoder.Config, decoder.DType, decoder.Device);
        try
        {
            using var scope = NewDisposeScope();
            var trainable = compressor.TrainableParameters().Select(p => p.Name).ToHashSet();
            var ours = compressor.state_dict();
            bool fileHasFrozen = ours.Keys.Any(k => !trainable.Contains(k) && header.ContainsKey(ReferenceKey(k)));
            bool tied = decoder.Config.TieWordEmbeddings;
            bool fileHasDecoder = header.Keys.Any(k => k.StartsWith(DecoderPrefix, StringComparison.Ordinal) && !Ignored(k, inferred, tied));

            var targets = new Dictionary<string, Tensor>(); // reference key -> the tensor of ours it fills
            foreach (var (key, tensor) in ours)
                if (trainable.Contains(key) || fileHasFrozen) targets[ReferenceKey(key)] = tensor;
            if (fileHasDecoder)
                foreach (var (key, tensor) in decoder.state_dict().Where(kv => !Lora.IsAdapterKey(kv.Key)))
                    targets[ReferenceKey(DecoderPrefix + key)] = tensor;
            var found = header.Where(kv => !Ignored(kv.Key, inferred, tied)).ToDictionary(kv => kv.Key, kv => kv.Value.Shape);
            StateDictCheck.Verify($"{path} (official GMSA layout)", targets.ToDictionary(kv => kv.Key, kv => kv.Value.shape), found);

            if (!fileHasFrozen) CopyFrozenFromDecoder(compressor, decoder);
            var weights = SafeTensors.Load(path, targets.ContainsKey);
            using var noGrad = no_grad();
            foreach (var (key, tensor) in targets) tensor.copy_(weights[key]);
        }
        catch
        {
            compressor.Dispose();
            throw;
        }
        compressor.eval();
        return compressor;
    }

    /// <summary>
    /// <paramref name="config"/> with what the file's header shows: encoder layers (highest
    /// <c>encoder...layers.{i}</c> + 1), LSA layers (likewise under <c>memory_fusion_layer.model.layers</c>), the
    /// encoder's LoRA rank (rows of a <c>lora_A</c>), and no decoder adapters (the reference tunes the decoder's own
    /// weights). Alpha, dropout, rates and the alignment kind are not in the weights and stay as given.
    /// </summary>
    public static CompressorConfig InferConfig(string path, CompressorConfig config)
    {
        path = Resolve(path);
        return InferConfig(SafeTensors.ReadHeader(path), config, path);
    }

    static CompressorConfig InferConfig(IReadOnlyDictionary<string, SafeTensorInfo> header, CompressorConfig config, string path)
    {
        if (config.Method != CompressionMethod.GroupMerge || config.Alignment == AlignmentKind.None)
            throw new ArgumentException($"the official GMSA layout is group merge with LSA or a linear projector; method {config.Method}, alignment {config.Alignment} has no weights there");
        int? fusionLayers = LayerCount(header.Keys, FusionPrefix + "layers.");
        if (config.Alignment == AlignmentKind.Linear && fusionLayers is not null)
            throw new ArgumentException($"{path} holds LSA blocks ({FusionPrefix}layers.*): it was trained with use_transform_layer, so its semantic_alignment_layer is untrained; load it with alignment lsa");
        var loraA = header.FirstOrDefault(kv => kv.Key.StartsWith(EncoderPrefix, StringComparison.Ordinal) && kv.Key.EndsWith(".lora_A.default.weight", StringComparison.Ordinal));
        return config with
        {
            EncoderLayers = LayerCount(header.Keys, EncoderPrefix + "layers.") ?? config.EncoderLayers,
            AlignmentLayers = config.Alignment is AlignmentKind.Lsa or AlignmentKind.LsaRandom ? fusionLayers ?? config.AlignmentLayers : config.AlignmentLayers,
            LoraRank = loraA.Value is { } info ? (int)info.Shape[0] : config.LoraRank, // lora_A: [R, In]
            DecoderLoraRank = 0,
        };
    }

    /// <summary>
    /// The table above as code. <paramref name="ourKey"/> is a compressor key as its state_dict names it, or a
    /// decoder key prefixed <c>decoder.</c>.
    /// </summary>
    internal static string ReferenceKey(string ourKey)
    {
        if (ourKey.StartsWith("encoder.", StringComparison.Ordinal))
        {
            string rest = ourKey["encoder.".Length..];
            if (Lora.IsAdapterKey(rest)) rest = rest[..^".weight".Length] + ".default.weight";    // PEFT's adapter name
            else if (rest.Contains("_proj.", StringComparison.Ordinal))                           // PEFT wraps the projection
                rest = rest.Insert(rest.LastIndexOf('.'), ".base_layer");
            return EncoderPrefix + rest;
        }
        if (ourKey.StartsWith("memory_fusion_layer.", StringComparison.Ordinal))
            return FusionPrefix + ourKey["memory_fusion_layer.".Length..];
        return ourKey; // semantic_alignment_layer.*, decoder.*
    }

    /// <summary>Reference keys that hold no weights of ours.</summary>
    static bool Ignored(string key, CompressorConfig config, bool tiedDecoder) =>
        // The encoder's last hidden states are read, never its logits (PEFT's all-linear leaves lm_head unadapted).
        key.StartsWith("encoder.base_model.model.lm_head.", StringComparison.Ordinal)
        // The fusion stack reads the merged vectors as inputs_embeds and its last hidden state is taken.
        || key is "memory_fusion_layer.model.embed_tokens.weight" or "memory_fusion_layer.lm_head.weight"
        // Built by the reference even when the LSA aligns; untrained then.
        || (key.StartsWith("semantic_alignment_layer.", StringComparison.Ordinal) && config.Alignment != AlignmentKind.Linear)
        // Its saver clones tied tensors, so this copy equals decoder.model.embed_tokens.weight.
        || (key == "decoder.lm_head.weight" && tiedDecoder)
        // RoPE tables (older transformers saved them); ours are recomputed.
        || key.EndsWith(".rotary_emb.inv_freq", StringComparison.Ordinal);

    /// <summary>What <see cref="ContextCompressor.FromBackbone"/> copies from the decoder: encoder base, LSA norm.</summary>
    static void CopyFrozenFromDecoder(ContextCompressor compressor, CausalLM decoder)
    {
        var weights = decoder.state_dict();
        SubsetLoad.Copy("the decoder", compressor.Encoder, weights, key => "model." + key);
        if (compressor.AlignmentStack is { } lsa)
        {
            using var noGrad = no_grad();
            lsa.state_dict()["norm.weight"].copy_(weights["model.norm.weight"]);
        }
    }

    /// <summary>Highest <c>{prefix}{i}.</c> index + 1, or null when no key has the prefix.</summary>
    static int? LayerCount(IEnumerable<string> keys, string prefix)
    {
        int? count = null;
        foreach (var key in keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal)))
        {
            int dot = key.IndexOf('.', prefix.Length);
            if (dot > prefix.Length && int.TryParse(key.AsSpan(prefix.Length, dot - prefix.Length), out int i))
                count = Math.Max(count ?? 0, i + 1);
        }
        return count;
    }

    static string Resolve(string path) => Directory.Exists(path) ? Path.Combine(path, FileName) : path;
}
