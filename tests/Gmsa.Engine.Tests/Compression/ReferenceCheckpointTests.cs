using Gmsa.Engine.Checkpoints;
using Gmsa.Engine.Compression;
using Gmsa.Engine.Model;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Gmsa.Engine.Tests.Compression;

public sealed class ReferenceCheckpointTests
{
    /// <summary>
    /// The official code's <c>model.safetensors</c> for a compressor and (optionally) a decoder, the names spelled out
    /// here apart from the loader's table, with the keys it must ignore filled with noise.
    /// </summary>
    static Dictionary<string, Tensor> ReferenceFile(ContextCompressor compressor, CausalLM? decoder, bool trainedOnly = false)
    {
        var trainable = compressor.TrainableParameters().Select(p => p.Name).ToHashSet();
        var file = new Dictionary<string, Tensor>();
        foreach (var (key, value) in compressor.state_dict().Where(kv => !trainedOnly || trainable.Contains(kv.Key)))
        {
            string name = key.StartsWith("encoder.") ? "encoder.base_model.model.model." + PeftName(key["encoder.".Length..])
                : key.StartsWith("memory_fusion_layer.") ? "memory_fusion_layer.model." + key["memory_fusion_layer.".Length..]
                : key;
            file[name] = value;
        }
        if (trainedOnly) return file;
        long v = compressor.Backbone.VocabSize, d = compressor.Backbone.HiddenSize;
        var generator = new Generator(11);
        file["encoder.base_model.model.lm_head.weight"] = randn(new[] { v, d }, generator: generator);
        if (compressor.Config.Alignment == AlignmentKind.Lsa)
        {
            file["memory_fusion_layer.model.embed_tokens.weight"] = randn(new[] { v, d }, generator: generator);
            file["memory_fusion_layer.lm_head.weight"] = randn(new[] { v, d }, generator: generator);
            file["semantic_alignment_layer.weight"] = randn(new[] { d, d }, generator: generator); // built, unused
            file["semantic_alignment_layer.bias"] = randn(new[] { d }, generator: generator);
        }
        if (decoder is not null)
            foreach (var (key, value) in decoder.state_dict()) file["decoder." + key] = value;
        return file;
    }

    /// <summary>PEFT's names inside the encoder: projections wrapped as base_layer, adapters named "default".</summary>
    static string PeftName(string key) =>
        key.EndsWith(".lora_A.weight") || key.EndsWith(".lora_B.weight") ? key.Replace(".weight", ".default.weight")
        : key.Contains("_proj.") ? key.Replace("_proj.", "_proj.base_layer.")
        : key;

    static void AddNoise(IEnumerable<Parameter> parameters, ulong seed)
    {
        using var noGrad = no_grad();
        var generator = new Generator(seed);
        foreach (var p in parameters) p.add_(randn(p.shape, generator: generator) * 0.1);
    }

    static Tensor Soft(ContextCompressor compressor) =>
        SegmentedCompression.Compress(compressor, [TinyCompressors.Context(21, 9)], [4])[0];

    [Theory]
    [InlineData(AlignmentKind.Lsa)]
    [InlineData(AlignmentKind.Linear)]
    public void Load_FullReferenceFile_GivesTheSameSoftTokensAndTheTunedDecoder(AlignmentKind alignment)
    {
        using var dir = new TempDir();
        var (decoder, compressor) = TinyCompressors.Create(TinyCompressors.Config(alignment: alignment));
        using var _ = decoder; using var __ = compressor;
        AddNoise(compressor.parameters(), 3); // frozen parts too: the file's copies must win over the decoder's
        using var tuned = TinyCompressors.Decoder(seed: 99); // stands for the stage-2 decoder
        using var expected = Soft(compressor);
        string path = dir.File(ReferenceCheckpoint.FileName);
        SafeTensors.Save(path, ReferenceFile(compressor, tuned));

        using var fresh = TinyCompressors.Decoder();
        // Wrong on purpose: layers and rank are read from the file.
        var config = TinyCompressors.Config(alignment: alignment) with { EncoderLayers = 2, AlignmentLayers = 2, LoraRank = 8 };
        using var loaded = ReferenceCheckpoint.Load(dir.Path, fresh, config);

        Assert.Equal(1, loaded.Config.EncoderLayers);
        Assert.Equal(alignment == AlignmentKind.Lsa ? 1 : 2, loaded.Config.AlignmentLayers);
        Assert.Equal(4, loaded.Config.LoraRank);
        Assert.Equal(0, loaded.Config.DecoderLoraRank);
        using var actual = Soft(loaded);
        TensorAssert.Close(expected, actual, 1e-5);
        var tunedWeights = tuned.state_dict();
        foreach (var (key, value) in fresh.state_dict()) TensorAssert.Identical(tunedWeights[key], value, key);
    }

    [Fact]
    public void Load_TrainedPartsOnly_TakesFrozenPartsFromTheDecoderAndLeavesItAlone()
    {
        using var dir = new TempDir();
        var (decoder, compressor) = TinyCompressors.Create();
        using var _ = decoder; using var __ = compressor;
        AddNoise(compressor.TrainableParameters().Select(p => p.Parameter), 3);
        using var expected = Soft(compressor);
        string path = dir.File(ReferenceCheckpoint.FileName);
        SafeTensors.Save(path, ReferenceFile(compressor, decoder: null, trainedOnly: true));
        Assert.DoesNotContain("memory_fusion_layer.model.norm.weight", SafeTensors.ReadHeader(path).Keys);

        using var fresh = TinyCompressors.Decoder();
        using var loaded = ReferenceCheckpoint.Load(path, fresh, TinyCompressors.Config());

        using var actual = Soft(loaded);
        TensorAssert.Close(expected, actual, 1e-5);
        var baseWeights = decoder.state_dict();
        foreach (var (key, value) in fresh.state_dict()) TensorAssert.Identical(baseWeights[key], value, key);
    }

    [Fact]
    public void Load_FileMissingAnLsaKey_FailsNamingItAndChangesNothing()
    {
        using var dir = new TempDir();
        var (decoder, compressor) = TinyCompressors.Create();
        using var _ = decoder; using var __ = compressor;
        using var tuned = TinyCompressors.Decoder(seed: 99);
        const string dropped = "memory_fusion_layer.model.layers.0.mlp.up_proj.weight";
        var file = ReferenceFile(compressor, tuned);
        Assert.True(file.Remove(dropped));
        string path = dir.File(ReferenceCheckpoint.FileName);
        SafeTensors.Save(path, file);

        using var fresh = TinyCompressors.Decoder();
        var error = Assert.Throws<CheckpointMismatchException>(() => ReferenceCheckpoint.Load(path, fresh, TinyCompressors.Config()));

        Assert.Contains(dropped, error.Message);
        Assert.Equal([dropped], error.Missing);
        Assert.Empty(error.Unexpected);
        var baseWeights = decoder.state_dict();
        foreach (var (key, value) in fresh.state_dict()) TensorAssert.Identical(baseWeights[key], value, key);
    }
}
