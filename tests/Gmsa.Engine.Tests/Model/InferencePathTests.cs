using Gmsa.Engine.Generation;
using Gmsa.Engine.Model;
using static TorchSharp.torch;

namespace Gmsa.Engine.Tests.Model;

/// <summary>
/// Without autograd the model takes faster paths (block-causal attention for long prefills, in-place
/// norms, RoPE, SwiGLU and residuals); with autograd it takes the plain ones. Both must give the same logits.
/// </summary>
public sealed class InferencePathTests
{
    const double Tolerance = 1e-4; // float32; the paths differ only in summation order

    static ModelConfig Config(string family) => family switch
    {
        "llama" => TinyModels.Llama(),                        // GQA 4/2
        "mha" => TinyModels.Llama(heads: 4, kvHeads: 4),
        "qwen2" => TinyModels.Qwen2(),
        "qwen3" => TinyModels.Qwen3(),
        _ => throw new ArgumentOutOfRangeException(nameof(family)),
    };

    static Tensor RandomIds(int batch, int length) =>
        randint(3, 97, [batch, length], dtype: ScalarType.Int64, generator: new Generator(7));

    [Theory]
    [InlineData("llama", 70, 4)] // two full 32-query blocks and a partial one (4 rows x 4 heads: the block path)
    [InlineData("mha", 33, 4)]   // one block and a single query
    [InlineData("qwen2", 64, 4)] // exact blocks
    [InlineData("qwen3", 100, 4)]
    [InlineData("llama", 70, 1)] // too few (row, head) pairs for blocks: libtorch's causal kernel without autograd
    public void NoGradForward_LongSequence_MatchesAutogradForward(string family, int length, int batch)
    {
        using var model = TinyModels.Create(Config(family));
        using var scope = NewDisposeScope();
        var ids = RandomIds(batch, length);

        Tensor expected;
        using (enable_grad()) expected = model.forward(ids).Logits.detach(); // plain causal SDPA, out of place
        Tensor actual;
        using (no_grad()) actual = model.forward(ids).Logits;

        TensorAssert.Close(expected, actual, Tolerance, $"{family} T={length}");
    }

    [Fact]
    public void NoGradForward_LongSequence_MatchesTokenByTokenCacheDecode()
    {
        using var model = TinyModels.Create(TinyModels.Llama());
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var ids = RandomIds(1, 70);
        var full = model.forward(ids).Logits;                                       // [1, 70, V]

        using var cache = new KvCache(model.Config.NumHiddenLayers, initialCapacity: 16);
        var steps = Enumerable.Range(0, 70).Select(i => model.forward(ids.narrow(1, i, 1), cache: cache).Logits).ToList();

        TensorAssert.Close(full, cat(steps, dim: 1), Tolerance, "full vs cached");
    }
}
