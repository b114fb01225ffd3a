using Gmsa.Engine.Checkpoints;
using Gmsa.Engine.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace Gmsa.Engine.Tests.Checkpoints;

public sealed class PretrainedModelTests
{
    static readonly long[] Prompt = [1, 5, 17, 42, 8];

    static Tensor Logits(CausalLM model)
    {
        using var noGrad = no_grad();
        return model.forward(TinyModels.Ids(Prompt)).Logits;
    }

    [Theory]
    [InlineData("llama", false, long.MaxValue)]
    [InlineData("llama", true, 4096)]  // tied, and sharded into many files
    [InlineData("qwen3", false, 20000)]
    public void Save_ThenLoad_GivesIdenticalLogits(string family, bool tied, long maxShardBytes)
    {
        using var scope = NewDisposeScope();
        using var dir = new TempDir();
        var config = (family == "qwen3" ? TinyModels.Qwen3() : TinyModels.Llama()) with { TieWordEmbeddings = tied };
        using var original = TinyModels.Create(config);
        PretrainedModel.Save(original, dir.Path, maxShardBytes);
        Assert.Equal(maxShardBytes < 100_000, File.Exists(dir.File(ShardedCheckpoint.IndexFile)));

        using var loaded = PretrainedModel.Load(dir.Path, device: CPU);
        Assert.Equal(config.ToJson(), loaded.Config.ToJson()); // records compare lists by reference: compare the file form
        TensorAssert.Identical(Logits(original), Logits(loaded));
    }

    [Fact]
    public void Load_Bfloat16Checkpoint_DefaultsToBfloat16_AndFloat32OnRequest()
    {
        using var scope = NewDisposeScope();
        using var dir = new TempDir();
        using var original = new CausalLM(TinyModels.Llama(), ScalarType.BFloat16);
        original.InitializeWeights(3);
        PretrainedModel.Save(original, dir.Path);
        Assert.All(SafeTensors.ReadHeader(dir.File(ShardedCheckpoint.SingleFile)).Values, t => Assert.Equal("BF16", t.Dtype));

        using var asSaved = PretrainedModel.Load(dir.Path, device: CPU);
        Assert.Equal(ScalarType.BFloat16, asSaved.DType);
        using var widened = PretrainedModel.Load(dir.Path, ScalarType.Float32, CPU);
        Assert.Equal(ScalarType.Float32, widened.DType);
        var narrow = asSaved.state_dict();
        foreach (var (name, w) in widened.state_dict())
            TensorAssert.Identical(narrow[name], w, name); // every bf16 value is exact in float32
        TensorAssert.Close(Logits(widened), Logits(asSaved), 0.1 * Logits(widened).std().item<float>(), "bf16 activations");
    }

    [Fact]
    public void Load_CheckpointNotMatchingConfig_OneErrorNamesMissingUnexpectedAndMisShapedKeys()
    {
        using var scope = NewDisposeScope();
        using var dir = new TempDir();
        using var original = TinyModels.Create(TinyModels.Llama());
        PretrainedModel.Save(original, dir.Path);
        var weights = SafeTensors.Load(dir.File(ShardedCheckpoint.SingleFile));
        weights.Remove("model.layers.1.mlp.up_proj.weight");
        weights["model.layers.0.self_attn.q_proj.bias"] = zeros(32);
        weights["model.norm.weight"] = ones(31);
        SafeTensors.Save(dir.File(ShardedCheckpoint.SingleFile), weights);

        var e = Assert.Throws<CheckpointMismatchException>(() => PretrainedModel.Load(dir.Path, device: CPU));
        Assert.Equal(["model.layers.1.mlp.up_proj.weight"], e.Missing);
        Assert.Equal(["model.layers.0.self_attn.q_proj.bias"], e.Unexpected);
        Assert.Single(e.MisShaped);
        Assert.Contains("model.norm.weight: checkpoint [31], model [32]", e.Message);
        Assert.Contains("1 missing", e.Message);
        Assert.Contains("1 unexpected", e.Message);
    }

    [Fact]
    public void Load_FolderWithoutConfig_ThrowsFileNotFoundNamingIt()
    {
        using var dir = new TempDir();
        var e = Assert.Throws<FileNotFoundException>(() => PretrainedModel.Load(dir.Path, device: CPU));
        Assert.Contains("config.json", e.Message);
    }

    [Fact]
    public void GenerationConfig_EosList_IsReadFromFile()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("generation_config.json"), """{"bos_token_id": 1, "eos_token_id": [2, 7], "temperature": 0.6, "do_sample": true}""");
        var g = GenerationConfig.Load(dir.Path, TinyModels.Llama());
        Assert.Equal([2, 7], g.EosTokenIds);
        Assert.Equal(0.6, g.Temperature);
        Assert.True(g.DoSample);
        Assert.Equal([2], GenerationConfig.Load(Path.Combine(dir.Path, "absent"), TinyModels.Llama()).EosTokenIds);
    }

    [Fact]
    public void GenerationConfig_Resolve_CallerWinsThenFileThenGreedyDefaults()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("generation_config.json"), """{"do_sample": true, "temperature": 0.6, "top_p": 0.9, "top_k": 40, "repetition_penalty": 1.3}""");
        var sampling = GenerationConfig.Load(dir.Path, TinyModels.Llama());

        var fromFile = sampling.Resolve();
        Assert.Equal((0.6, 0.9, 40, 1.3), (fromFile.Temperature, fromFile.TopP, fromFile.TopK, fromFile.RepetitionPenalty));
        var caller = sampling.Resolve(temperature: 0, topP: 1, topK: 0, repetitionPenalty: 1);
        Assert.Equal((0.0, 1.0, 0, 1.0), (caller.Temperature, caller.TopP, caller.TopK, caller.RepetitionPenalty));

        File.WriteAllText(dir.File("generation_config.json"), """{"temperature": 0.6}""");   // no do_sample: greedy, as transformers
        var greedy = GenerationConfig.Load(dir.Path, TinyModels.Llama()).Resolve();
        Assert.Equal((0.0, 1.0, 0, 1.0), (greedy.Temperature, greedy.TopP, greedy.TopK, greedy.RepetitionPenalty));
    }

    [Fact]
    public void GenerationConfig_GmsaTinyFolder_RecommendsRepetitionPenalty()
    {
        var config = ModelConfig.Load(RepoFiles.Path("models/gmsa-tiny/config.json"));
        var defaults = GenerationConfig.Load(RepoFiles.Path("models/gmsa-tiny"), config).Resolve();
        Assert.Equal(1.3, defaults.RepetitionPenalty);
        Assert.True(defaults.Greedy);
        Assert.Equal([2], GenerationConfig.Load(RepoFiles.Path("models/gmsa-tiny"), config).EosTokenIds);
    }
}
