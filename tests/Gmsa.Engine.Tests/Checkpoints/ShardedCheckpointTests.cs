using System.Text.Json;
using Gmsa.Engine.Checkpoints;
using TorchSharp;
using static TorchSharp.torch;

namespace Gmsa.Engine.Tests.Checkpoints;

public sealed class ShardedCheckpointTests
{
    // Five float32 tensors of 100 elements (400 bytes each), in a deliberate non-alphabetical order.
    static Dictionary<string, Tensor> FiveTensors()
    {
        var g = new Generator(11);
        return new[] { "model.layers.1.w", "model.layers.0.w", "model.norm.weight", "lm_head.weight", "model.embed_tokens.weight" }
            .ToDictionary(n => n, _ => torch.randn(new long[] { 10, 10 }, generator: g));
    }

    [Fact]
    public void ShardedCheckpoint_SmallMaxShardBytes_WritesShardsIndexAndLoadsEqual()
    {
        using var scope = torch.NewDisposeScope();
        using var dir = new TempDir();
        var tensors = FiveTensors();

        ShardedCheckpoint.SaveFolder(dir.Path, tensors, maxShardBytes: 1000);

        Assert.Equal(
            ["model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors", "model-00003-of-00003.safetensors", "model.safetensors.index.json"],
            Directory.GetFiles(dir.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        using var index = JsonDocument.Parse(File.ReadAllText(dir.File("model.safetensors.index.json")));
        Assert.Equal(2000, index.RootElement.GetProperty("metadata").GetProperty("total_size").GetInt64());
        var map = index.RootElement.GetProperty("weight_map").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString());
        // Filled in dictionary order, 2 + 2 + 1 tensors of 400 bytes under a 1000-byte limit.
        Assert.Equal("model-00001-of-00003.safetensors", map["model.layers.1.w"]);
        Assert.Equal("model-00001-of-00003.safetensors", map["model.layers.0.w"]);
        Assert.Equal("model-00002-of-00003.safetensors", map["model.norm.weight"]);
        Assert.Equal("model-00002-of-00003.safetensors", map["lm_head.weight"]);
        Assert.Equal("model-00003-of-00003.safetensors", map["model.embed_tokens.weight"]);
        Assert.Equal(map.Keys.Order(StringComparer.Ordinal), map.Keys); // sorted, as transformers writes it
        Assert.Equal("pt", SafeTensors.ReadMetadata(dir.File("model-00001-of-00003.safetensors"))["format"]);

        var loaded = ShardedCheckpoint.LoadFolder(dir.Path);

        Assert.Equal(tensors.Keys.Order(), loaded.Keys.Order());
        foreach (var (name, t) in tensors)
            Assert.Equal(t.bytes.ToArray(), loaded[name].bytes.ToArray());
    }

    [Fact]
    public void ShardedCheckpoint_TensorOverLimit_GetsOwnShard()
    {
        using var scope = torch.NewDisposeScope();
        using var dir = new TempDir();
        var tensors = new Dictionary<string, Tensor> { ["small"] = torch.zeros(10), ["big"] = torch.zeros(1000), ["tail"] = torch.zeros(10) };

        ShardedCheckpoint.SaveFolder(dir.Path, tensors, maxShardBytes: 100);

        Assert.Equal(["small"], SafeTensors.ReadHeader(dir.File("model-00001-of-00003.safetensors")).Keys);
        Assert.Equal(["big"], SafeTensors.ReadHeader(dir.File("model-00002-of-00003.safetensors")).Keys);
        Assert.Equal(["tail"], SafeTensors.ReadHeader(dir.File("model-00003-of-00003.safetensors")).Keys);
    }

    [Fact]
    public void ShardedCheckpoint_FitsAfterShardedSave_WritesSingleFileAndRemovesStaleShards()
    {
        using var scope = torch.NewDisposeScope();
        using var dir = new TempDir();
        File.WriteAllText(dir.File("config.json"), "{}");
        ShardedCheckpoint.SaveFolder(dir.Path, FiveTensors(), maxShardBytes: 1000);

        var tensors = FiveTensors();
        ShardedCheckpoint.SaveFolder(dir.Path, tensors);

        Assert.Equal(["config.json", "model.safetensors"], Directory.GetFiles(dir.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        var loaded = ShardedCheckpoint.LoadFolder(dir.Path);
        Assert.Equal(tensors["lm_head.weight"].bytes.ToArray(), loaded["lm_head.weight"].bytes.ToArray());
    }

    [Fact]
    public void ShardedCheckpoint_ShardedAfterSingleSave_RemovesStaleSingleFile()
    {
        using var scope = torch.NewDisposeScope();
        using var dir = new TempDir();
        ShardedCheckpoint.SaveFolder(dir.Path, new Dictionary<string, Tensor> { ["old"] = torch.zeros(1) });

        ShardedCheckpoint.SaveFolder(dir.Path, FiveTensors(), maxShardBytes: 1000);

        Assert.False(File.Exists(dir.File("model.safetensors")));
        Assert.Equal(5, ShardedCheckpoint.LoadFolder(dir.Path).Count);
    }

    [Fact]
    public void ShardedCheckpoint_LoadFolderWithoutWeights_ThrowsFileNotFoundNamingBoth()
    {
        using var dir = new TempDir();

        var e = Assert.Throws<FileNotFoundException>(() => ShardedCheckpoint.LoadFolder(dir.Path));

        Assert.Contains("model.safetensors.index.json", e.Message);
        Assert.Contains("neither model.safetensors", e.Message);
    }

    [Fact]
    public void ShardedCheckpoint_IndexNamesMissingShard_ThrowsInvalidData()
    {
        using var scope = torch.NewDisposeScope();
        using var dir = new TempDir();
        ShardedCheckpoint.SaveFolder(dir.Path, FiveTensors(), maxShardBytes: 1000);
        File.Delete(dir.File("model-00002-of-00003.safetensors"));

        var e = Assert.Throws<InvalidDataException>(() => ShardedCheckpoint.LoadFolder(dir.Path));

        Assert.Contains("model-00002-of-00003.safetensors", e.Message);
    }

    [Fact]
    public void ShardedCheckpoint_IndexPointsOutsideFolder_ThrowsInvalidData()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("model.safetensors.index.json"), """{"weight_map":{"a":"../evil.safetensors"}}""");

        var e = Assert.Throws<InvalidDataException>(() => ShardedCheckpoint.LoadFolder(dir.Path));

        Assert.Contains("not a plain file name", e.Message);
    }
}
