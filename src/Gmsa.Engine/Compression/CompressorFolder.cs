using System.Text.Json.Nodes;
using Gmsa.Engine.Checkpoints;
using Gmsa.Engine.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace Gmsa.Engine.Compression;

/// <summary>
/// A trained compressor on disk, in layouts other tools read:
/// <list type="bullet">
/// <item><c>gmsa_config.json</c>: base model, layers, rates (<see cref="CompressorConfig"/>);</item>
/// <item><c>encoder_adapter/</c>: PEFT's <c>adapter_config.json</c> + <c>adapter_model.safetensors</c> (keys
/// <c>base_model.model.model.layers.{i}.self_attn.q_proj.lora_A.weight</c>, ...) over the base's first N layers;</item>
/// <item><c>alignment.safetensors</c>: the LSA blocks under the decoder's own names (<c>model.layers.{i}.*</c>,
/// <c>model.norm.weight</c>), or the projector / memory tokens of the ablations;</item>
/// <item><c>decoder_adapter/</c> (PEFT, when the decoder has adapters) or <c>decoder.safetensors</c> (the decoder
/// weights that fine-tuning changed, for qkv and full);</item>
/// <item><c>restate_adapter/</c> (PEFT, optional): a second decoder adapter used to restate the context (reconstruction),
/// when the <c>decoder_adapter/</c> was fine-tuned for answers alone and no longer restates.</item>
/// </list>
/// </summary>
public static class CompressorFolder
{
    public const string EncoderAdapter = "encoder_adapter", DecoderAdapter = "decoder_adapter", RestateAdapter = "restate_adapter";
    /// <summary>The name the restate adapter is switched on by (<see cref="Lora.Activate"/>).</summary>
    public const string RestateAdapterName = "restate";
    public const string AlignmentFile = "alignment.safetensors", DecoderFile = "decoder.safetensors";
    const string PeftConfig = "adapter_config.json", PeftWeights = "adapter_model.safetensors";
    /// <summary>What PEFT puts before a causal LM's own key names in a saved adapter.</summary>
    const string PeftKeyPrefix = "base_model.model.";
    static readonly string[] TargetModules = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"];

    public static bool Exists(string folder) => File.Exists(Path.Combine(folder, CompressorConfig.FileName));

    public static bool HasRestateAdapter(string folder) => File.Exists(Path.Combine(folder, RestateAdapter, PeftWeights));

    /// <param name="changedDecoder">decoder weights fine-tuning changed (qkv/full), by decoder key; null when none</param>
    public static void Save(string folder, ContextCompressor compressor, CausalLM decoder, IEnumerable<string>? changedDecoder = null)
    {
        Directory.CreateDirectory(folder);
        // The file states the decoder as it is: a recipe may give an adapter shape to a decoder that trained none.
        var config = Lora.AdapterParameters(decoder).Any() ? compressor.Config : compressor.Config with { DecoderLoraRank = 0 };
        File.WriteAllText(Path.Combine(folder, CompressorConfig.FileName), config.ToJson() + "\n");
        var named = compressor.named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter);
        SaveAdapter(Path.Combine(folder, EncoderAdapter), config.BaseModel, config.EncoderLora,
            named.Where(kv => kv.Key.StartsWith("encoder.") && Lora.IsAdapterKey(kv.Key))
                .Select(kv => KeyValuePair.Create(PeftKeyPrefix + "model." + kv.Key["encoder.".Length..], kv.Value)));
        SafeTensors.Save(Path.Combine(folder, AlignmentFile), named
            .Where(kv => !kv.Key.StartsWith("encoder."))
            .Select(kv => KeyValuePair.Create(AlignmentKey(kv.Key), kv.Value)));
        var decoderWeights = decoder.named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter);
        if (config.DecoderLora is { } decoderLora)
            SaveAdapter(Path.Combine(folder, DecoderAdapter), config.BaseModel, decoderLora,
                decoderWeights.Where(kv => Lora.IsAdapterKey(kv.Key)).Select(kv => KeyValuePair.Create(PeftKeyPrefix + kv.Key, kv.Value)));
        if (changedDecoder is not null)
            SafeTensors.Save(Path.Combine(folder, DecoderFile), changedDecoder.Select(k => KeyValuePair.Create(k, decoderWeights[k])));
    }

    /// <summary>
    /// Loads a compressor for <paramref name="decoder"/> (same backbone: shapes are checked) and puts the folder's
    /// decoder adapters or fine-tuned weights into the decoder.
    /// </summary>
    public static ContextCompressor Load(string folder, CausalLM decoder)
    {
        if (!Exists(folder)) throw new DirectoryNotFoundException($"{folder} is not a compressor folder: {CompressorConfig.FileName} is missing");
        var config = CompressorConfig.Load(Path.Combine(folder, CompressorConfig.FileName));
        var compressor = ContextCompressor.Empty(config, decoder.Config, decoder.DType, decoder.Device);
        try
        {
            using var scope = NewDisposeScope();
            var weights = decoder.state_dict();
            SubsetLoad.Copy("the base model", compressor.Encoder, weights, key => "model." + key);
            var saved = new Dictionary<string, Tensor>(SafeTensors.Load(Path.Combine(folder, AlignmentFile)));
            foreach (var (key, value) in SafeTensors.Load(Path.Combine(folder, EncoderAdapter, PeftWeights)))
                saved[key] = value;
            SubsetLoad.CopyAll(folder, compressor, saved, key => key.StartsWith("encoder.") && !Lora.IsAdapterKey(key) ? null : SavedKey(key));
            if (config.DecoderLora is { } decoderLora) LoadDecoderAdapter(folder, decoder, decoderLora);
            if (HasRestateAdapter(folder)) LoadRestateAdapter(Path.Combine(folder, RestateAdapter), decoder);
            string changed = Path.Combine(folder, DecoderFile);
            if (File.Exists(changed))
            {
                var tuned = SafeTensors.Load(changed);
                SubsetLoad.CopyAll(changed, decoder, tuned, key => tuned.ContainsKey(key) ? key : null);
            }
        }
        catch
        {
            compressor.Dispose();
            throw;
        }
        compressor.eval();
        return compressor;
    }

    /// <summary>Adds the folder's decoder adapters to a decoder that has none yet.</summary>
    static void LoadDecoderAdapter(string folder, CausalLM decoder, LoraOptions options)
    {
        if (!Lora.AdapterParameters(decoder).Any()) Lora.AddAdapters(decoder, options, seed: 0, include: Lora.InDecoderBlocks);
        var adapter = SafeTensors.Load(Path.Combine(folder, DecoderAdapter, PeftWeights));
        SubsetLoad.CopyAll(Path.Combine(folder, DecoderAdapter), decoder, adapter, key => Lora.IsAdapterKey(key) ? PeftKeyPrefix + key : null);
    }

    /// <summary>The restate adapter, kept unfolded beside the decoder's own (see <see cref="LoraLinear.AddServedAdapter"/>).</summary>
    static void LoadRestateAdapter(string adapterFolder, CausalLM decoder)
    {
        var options = ReadAdapterOptions(adapterFolder);
        var weights = SafeTensors.Load(Path.Combine(adapterFolder, PeftWeights));
        var bad = weights.Keys.FirstOrDefault(k => !k.StartsWith(PeftKeyPrefix) || !Lora.IsAdapterKey(k));
        if (bad is not null) throw new InvalidDataException($"{adapterFolder}: '{bad}' is not a PEFT adapter key of a causal LM");
        Lora.AddServedAdapters(decoder, RestateAdapterName, weights.ToDictionary(kv => kv.Key[PeftKeyPrefix.Length..], kv => kv.Value), options.Scale);
    }

    static LoraOptions ReadAdapterOptions(string adapterFolder)
    {
        string file = Path.Combine(adapterFolder, PeftConfig);
        if (!File.Exists(file)) throw new FileNotFoundException($"{adapterFolder} has no {PeftConfig}", file);
        // The fields are read inside JsonFile.Read, so a value of the wrong type names the file too.
        var (rank, alpha) = JsonFile.Read(file, json =>
        {
            var node = JsonNode.Parse(json) ?? throw new InvalidDataException($"{file} is empty");
            return (node["r"]?.GetValue<int>() ?? throw new InvalidDataException($"{file} has no 'r'"),
                    node["lora_alpha"]?.GetValue<double>() ?? throw new InvalidDataException($"{file} has no 'lora_alpha'"));
        });
        var options = new LoraOptions(rank, alpha, 0);
        options.Validate();
        return options;
    }

    /// <summary>
    /// What a fine-tuning run's folder takes over from the folder it started from: its restate adapter, or, when the run
    /// trains answers alone (<paramref name="answersOnly"/>), its decoder adapter, which restated and will not any more.
    /// Returns the adapter folder copied, or null when there is none to keep.
    /// </summary>
    public static string? KeepRestateAdapter(string from, string to, bool answersOnly)
    {
        string? source = HasRestateAdapter(from) ? Path.Combine(from, RestateAdapter)
            : answersOnly && File.Exists(Path.Combine(from, DecoderAdapter, PeftWeights)) ? Path.Combine(from, DecoderAdapter)
            : null;
        if (source is null) return null;
        string target = Path.Combine(to, RestateAdapter);
        Directory.CreateDirectory(target);
        foreach (var name in new[] { PeftConfig, PeftWeights }) File.Copy(Path.Combine(source, name), Path.Combine(target, name), overwrite: true);
        return source;
    }

    static string AlignmentKey(string compressorKey) =>
        compressorKey.StartsWith("memory_fusion_layer.") ? "model." + compressorKey["memory_fusion_layer.".Length..] : compressorKey;

    static string SavedKey(string compressorKey) =>
        compressorKey.StartsWith("encoder.") ? PeftKeyPrefix + "model." + compressorKey["encoder.".Length..] : AlignmentKey(compressorKey);

    static void SaveAdapter(string folder, string baseModel, LoraOptions options, IEnumerable<KeyValuePair<string, Tensor>> weights)
    {
        Directory.CreateDirectory(folder);
        var config = new JsonObject
        {
            ["peft_type"] = "LORA",
            ["task_type"] = "CAUSAL_LM",
            ["base_model_name_or_path"] = baseModel,
            ["r"] = options.Rank,
            ["lora_alpha"] = options.Alpha,
            ["lora_dropout"] = options.Dropout,
            ["target_modules"] = new JsonArray(TargetModules.Select(m => (JsonNode)m).ToArray()),
            ["bias"] = "none",
            ["fan_in_fan_out"] = false,
            ["inference_mode"] = true,
        };
        File.WriteAllText(Path.Combine(folder, PeftConfig), config.ToJsonString(CompressorConfig.Json) + "\n");
        SafeTensors.Save(Path.Combine(folder, PeftWeights), weights);
    }
}
