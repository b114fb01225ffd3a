using Gmsa.Engine.Checkpoints;
using static TorchSharp.torch;

namespace Gmsa.Engine.Tests.Checkpoints;

/// <summary>The benchmark helper's llama2.c export, read back by the converter it inverts.</summary>
public sealed class Llama2cExportTests
{
    [Fact]
    public void Export_ThenConvertBack_GivesTheSameWeights()
    {
        string source = Fixtures.Require("hf-reference/llama");   // MHA, untied head: the legacy format's negative vocab
        using var dir = new TempDir();
        Llama2cExport.Export(source, dir.Path);
        Llama2cConverter.Convert(Path.Combine(dir.Path, "model.bin"), Path.Combine(source, "tokenizer.model"), dir.File("back"));

        using var scope = NewDisposeScope();
        var original = ShardedCheckpoint.LoadFolder(source);
        var roundTrip = ShardedCheckpoint.LoadFolder(dir.File("back"));
        Assert.Equal(original.Keys.Order(), roundTrip.Keys.Order());
        foreach (var (name, tensor) in original)
            TensorAssert.Identical(tensor.to(ScalarType.Float32), roundTrip[name], name);
        Assert.True(new FileInfo(dir.File("tokenizer.bin")).Length > 512 * 9);  // a score, a length and a piece per id
    }

    [Fact]
    public void Export_QwenFolder_RefusesWithAReason()
    {
        using var dir = new TempDir();
        var e = Assert.Throws<NotSupportedException>(() => Llama2cExport.Export(Fixtures.Require("hf-reference/qwen2"), dir.Path));
        Assert.Contains("plain LLaMA", e.Message);
    }
}
