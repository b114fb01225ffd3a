using Gmsa.Engine.Checkpoints;
using Gmsa.Engine.Compression;
using TorchSharp;
using static TorchSharp.torch;

namespace Gmsa.Engine.Tests.Compression;

public sealed class SoftTokenFileTests
{
    static Dictionary<string, string> Metadata(params (string Key, string Value)[] entries) => entries.ToDictionary(e => e.Key, e => e.Value);

    [Fact]
    public void Load_ServiceFileOfTwoContexts_ReadsBothInOrderWithTheirTokenCounts()
    {
        // /v1/compress's layout: soft_tokens.{i} with context_tokens.{i}, one rate and base model for the file
        using var scope = NewDisposeScope();
        using var dir = new TempDir();
        var first = arange(12, dtype: ScalarType.Float32).reshape(3, 4);
        var second = arange(8, dtype: ScalarType.Float32).reshape(2, 4).neg();
        SafeTensors.Save(dir.File("soft.safetensors"), [KeyValuePair.Create("soft_tokens.0", first), KeyValuePair.Create("soft_tokens.1", second)],
            Metadata(("rate", "4"), ("base_model", "tiny"), ("context_tokens.0", "11"), ("context_tokens.1", "7"), ("compressed_id.0", "cmp-a")));

        var loaded = SoftTokenFile.Load(dir.File("soft.safetensors"), "tiny", 4, CPU);

        Assert.Equal([(11, 4), (7, 4)], loaded.Select(s => (s.ContextTokens, s.Rate)));
        TensorAssert.Identical(first, loaded[0].Embeddings);
        TensorAssert.Identical(second, loaded[1].Embeddings);
        using var joined = SoftTokens.Concatenate(loaded);
        Assert.Equal((5, 18), (joined.Count, joined.ContextTokens));
        foreach (var s in loaded) s.Dispose();
    }

    [Theory]
    [InlineData("soft_tokens.1", "neither one soft_tokens tensor nor soft_tokens.0")]   // a gap: context 0 missing
    [InlineData("weights", "neither one soft_tokens tensor nor soft_tokens.0")]
    public void Load_FileWithoutTheSoftTokenNames_SaysWhatItExpects(string name, string expected)
    {
        using var scope = NewDisposeScope();
        using var dir = new TempDir();
        SafeTensors.Save(dir.File("x.safetensors"), [KeyValuePair.Create(name, zeros(2, 4))],
            Metadata(("rate", "4"), ("base_model", "tiny"), ("context_tokens.1", "7")));

        var e = Assert.Throws<InvalidDataException>(() => SoftTokenFile.Load(dir.File("x.safetensors"), "tiny", 4, CPU));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Load_ContextWithoutItsTokenCount_NamesTheMissingKey()
    {
        using var scope = NewDisposeScope();
        using var dir = new TempDir();
        SafeTensors.Save(dir.File("x.safetensors"), [KeyValuePair.Create("soft_tokens.0", zeros(2, 4))], Metadata(("rate", "4"), ("base_model", "tiny")));

        var e = Assert.Throws<InvalidDataException>(() => SoftTokenFile.Load(dir.File("x.safetensors"), "tiny", 4, CPU));
        Assert.Contains("lacks the 'context_tokens.0' metadata", e.Message);
    }
}
