using Gmsa.Engine.Checkpoints;
using Gmsa.Engine.Generation;
using Gmsa.Engine.Model;
using static TorchSharp.torch;

namespace Gmsa.Engine.Tests.Model;

/// <summary>
/// A packed prefill (several sequences end to end in one forward) must give every sequence, to the last bit, the logits
/// and keys/values of its forward alone: that is what lets the scheduler share prefills without a request's text
/// depending on what else arrived with it.
/// </summary>
public sealed class PackedPrefillTests
{
    static Tensor Embed(CausalLM model, long[] ids) => model.Embed(tensor(ids, [1, ids.Length]));

    static long[] Prompt(int length, int salt) => Enumerable.Range(0, length).Select(i => (long)(1 + (i * 7 + salt * 13) % 90)).ToArray();

    static void AssertSameCache(KvCache expected, KvCache actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        var e = expected.CopyPrefix(expected.Length);
        var a = actual.CopyPrefix(actual.Length);
        for (int layer = 0; layer < e.Length; layer++)
        {
            TensorAssert.Identical(e[layer].Keys, a[layer].Keys, $"{what} layer {layer} keys");
            TensorAssert.Identical(e[layer].Values, a[layer].Values, $"{what} layer {layer} values");
        }
    }

    [Theory]
    [InlineData("llama", ScalarType.Float32)]
    [InlineData("qwen2", ScalarType.Float32)]   // GQA, q/k/v bias
    [InlineData("qwen3", ScalarType.Float32)]   // q/k norm
    [InlineData("llama3", ScalarType.Float32)]  // rope scaling
    [InlineData("llama", ScalarType.BFloat16)]
    [InlineData("qwen3", ScalarType.BFloat16)]
    public void PrefillPacked_PromptsOfDifferentLengths_EachEqualsItsForwardAlone(string family, ScalarType dtype)
    {
        using var model = PretrainedModel.Load(Fixtures.Require($"hf-reference/{family}"), dtype);
        model.eval();
        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        long[][] prompts = [Prompt(17, 1), Prompt(40, 2), Prompt(23, 3)]; // 16+ positions: the alone forward's GEMM is the blocked one too
        var alone = prompts.Select(_ => new KvCache(model.Config.NumHiddenLayers)).ToArray();
        var packed = prompts.Select(_ => new KvCache(model.Config.NumHiddenLayers)).ToArray();
        var expected = prompts.Select((p, i) => model.forward(tensor(p, [1, p.Length]), cache: alone[i], lastTokenOnly: true).Logits.squeeze(1)).ToArray();

        var actual = model.PrefillPacked(prompts.Select((p, i) => new PackedInput(Embed(model, p), packed[i], WantsLogits: true)).ToArray());

        for (int i = 0; i < prompts.Length; i++)
        {
            TensorAssert.Identical(expected[i], actual[i]!, $"prompt {i} logits");
            AssertSameCache(alone[i], packed[i], $"prompt {i}");
        }
        foreach (var c in alone.Concat(packed)) c.Dispose();
    }

    [Theory]
    [InlineData(ScalarType.Float32)]
    [InlineData(ScalarType.BFloat16)]
    public void PrefillPacked_SecondChunkBesideFreshPrompts_EqualsItsChunksAlone(ScalarType dtype)
    {
        using var model = PretrainedModel.Load(Fixtures.Require("hf-reference/qwen2"), dtype);
        model.eval();
        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        var longPrompt = Prompt(50, 4);
        using var alone = new KvCache(model.Config.NumHiddenLayers);
        model.forward(tensor(longPrompt[..30], [1, 30]), cache: alone, lastTokenOnly: true);
        var expected = model.forward(tensor(longPrompt[30..], [1, 20]), cache: alone, lastTokenOnly: true).Logits.squeeze(1); // a masked chunk over 30 cached positions

        using var packed = new KvCache(model.Config.NumHiddenLayers);
        using var other = new KvCache(model.Config.NumHiddenLayers);
        model.PrefillPacked([new PackedInput(Embed(model, longPrompt[..30]), packed, WantsLogits: false)]);
        var actual = model.PrefillPacked([
            new PackedInput(Embed(model, Prompt(19, 5)), other, WantsLogits: true),
            new PackedInput(Embed(model, longPrompt[30..]), packed, WantsLogits: true)]);

        TensorAssert.Identical(expected, actual[1]!, "second chunk's logits");
        AssertSameCache(alone, packed, "long prompt");
    }

    [Theory]
    [InlineData(ScalarType.Float32)]
    [InlineData(ScalarType.BFloat16)]
    public void PrefillPacked_ShortPromptsAloneAndTogether_SameLogits(ScalarType dtype)
    {
        // Below MinPackedRows a pack is padded, so a 3-token prompt alone takes the GEMM it takes among others.
        using var model = PretrainedModel.Load(Fixtures.Require("hf-reference/llama"), dtype);
        model.eval();
        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        long[][] prompts = [Prompt(3, 6), Prompt(1, 7), Prompt(5, 8), Prompt(12, 9)];
        var caches = new List<KvCache>();
        KvCache Fresh() { var c = new KvCache(model.Config.NumHiddenLayers); caches.Add(c); return c; }
        var alone = prompts.Select(p => model.PrefillPacked([new PackedInput(Embed(model, p), Fresh(), true)])[0]!).ToArray();

        var together = model.PrefillPacked(prompts.Select(p => new PackedInput(Embed(model, p), Fresh(), true)).ToArray());

        for (int i = 0; i < prompts.Length; i++) TensorAssert.Identical(alone[i], together[i]!, $"prompt {i}");
        foreach (var c in caches) c.Dispose();
    }

    [Fact]
    public void PrefillPacked_LogitsNotWanted_NullAndCacheAdvanced()
    {
        using var model = TinyModels.Create(TinyModels.Llama());
        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        using var cache = new KvCache(model.Config.NumHiddenLayers);

        var logits = model.PrefillPacked([new PackedInput(Embed(model, Prompt(7, 1)), cache, WantsLogits: false)]);

        Assert.Null(logits[0]);
        Assert.Equal(7, cache.Length);
    }

    [Fact]
    public void PrefillPacked_WrongShape_ThrowsArgumentException()
    {
        using var model = TinyModels.Create(TinyModels.Llama());
        using var cache = new KvCache(model.Config.NumHiddenLayers);

        var error = Assert.Throws<ArgumentException>(() => model.PrefillPacked([new PackedInput(zeros(1, 4, 7), cache, true)]));

        Assert.Contains("[1, T >= 1, 32]", error.Message);
    }
}
