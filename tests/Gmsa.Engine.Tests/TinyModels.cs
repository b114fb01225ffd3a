using Gmsa.Engine.Model;
using static TorchSharp.torch;

namespace Gmsa.Engine.Tests;

/// <summary>Small random-weight configs for the model tests; weights are seeded, so runs repeat.</summary>
internal static class TinyModels
{
    public static ModelConfig Llama(int heads = 4, int kvHeads = 2, bool tied = false) => new()
    {
        ModelType = "llama",
        VocabSize = 97,
        HiddenSize = 32,
        IntermediateSize = 64,
        NumHiddenLayers = 2,
        NumAttentionHeads = heads,
        NumKeyValueHeads = kvHeads,
        HeadDim = 32 / heads,
        MaxPositionEmbeddings = 128,
        RmsNormEps = 1e-5,
        TieWordEmbeddings = tied,
        BosTokenId = 1,
        EosTokenIds = [2],
    };

    public static ModelConfig Qwen3() => Llama() with { ModelType = "qwen3", QkNorm = true, HeadDim = 16, RopeTheta = 1e6 };

    public static ModelConfig Qwen2() => Llama() with { ModelType = "qwen2", AttentionBias = true };

    public static CausalLM Create(ModelConfig config, long seed = 1234, ScalarType dtype = ScalarType.Float32)
    {
        var model = new CausalLM(config, dtype);
        model.InitializeWeights(seed, std: 0.2); // larger than 0.02 so that attention is far from uniform
        model.eval();
        return model;
    }

    public static Tensor Ids(params long[][] rows) => tensor(rows.SelectMany(r => r).ToArray(), [rows.Length, rows[0].Length]);
}

internal static class TensorAssert
{
    public static float MaxDiff(Tensor a, Tensor b)
    {
        using var scope = NewDisposeScope();
        Assert.Equal(a.shape, b.shape);
        return (a.to(ScalarType.Float32) - b.to(ScalarType.Float32)).abs().max().item<float>();
    }

    public static void Close(Tensor expected, Tensor actual, double atol, string what = "")
    {
        float diff = MaxDiff(expected, actual);
        Assert.True(diff <= atol, $"{what} max |diff| {diff} > {atol}");
    }

    public static void Identical(Tensor expected, Tensor actual, string what = "") => Close(expected, actual, 0, what);
}
