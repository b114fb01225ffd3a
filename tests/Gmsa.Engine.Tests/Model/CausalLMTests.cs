using Gmsa.Engine.Generation;
using Gmsa.Engine.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace Gmsa.Engine.Tests.Model;

public sealed class CausalLMTests
{
    // float32 end to end; the paths differ only in summation order, so 1e-4 absolute is generous.
    const double Tolerance = 1e-4;

    static readonly long[] Prompt = [1, 5, 17, 42, 8, 77, 3, 60, 11, 29];

    [Fact]
    public void StateDict_LlamaConfig_HasCheckpointKeysAndShapes()
    {
        using var model = TinyModels.Create(TinyModels.Llama());
        var keys = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.shape);
        Assert.Equal([97L, 32], keys["model.embed_tokens.weight"]);
        Assert.Equal([32L, 32], keys["model.layers.0.self_attn.q_proj.weight"]);
        Assert.Equal([16L, 32], keys["model.layers.1.self_attn.k_proj.weight"]);
        Assert.Equal([64L, 32], keys["model.layers.1.mlp.gate_proj.weight"]);
        Assert.Equal([32L, 64], keys["model.layers.1.mlp.down_proj.weight"]);
        Assert.Equal([32L], keys["model.layers.0.input_layernorm.weight"]);
        Assert.Equal([32L], keys["model.norm.weight"]);
        Assert.Equal([97L, 32], keys["lm_head.weight"]);
        Assert.Equal(2 + 2 * 9 + 1, keys.Count);
    }

    [Fact]
    public void StateDict_TiedQwen2AndQwen3_HaveBiasesNormsAndNoLmHead()
    {
        using var qwen2 = TinyModels.Create(TinyModels.Qwen2() with { TieWordEmbeddings = true });
        var keys2 = qwen2.state_dict().Keys.ToHashSet();
        Assert.Contains("model.layers.0.self_attn.q_proj.bias", keys2);
        Assert.Contains("model.layers.0.self_attn.v_proj.bias", keys2);
        Assert.DoesNotContain("model.layers.0.self_attn.o_proj.bias", keys2);
        Assert.DoesNotContain("lm_head.weight", keys2);

        using var qwen3 = TinyModels.Create(TinyModels.Qwen3());
        var shapes = qwen3.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.shape);
        Assert.Equal([16L], shapes["model.layers.0.self_attn.q_norm.weight"]);
        Assert.Equal([16L], shapes["model.layers.0.self_attn.k_norm.weight"]);
        Assert.Equal([64L, 32], shapes["model.layers.0.self_attn.q_proj.weight"]); // explicit head_dim 16 x 4 heads
    }

    [Theory]
    [InlineData("llama")]
    [InlineData("qwen2")]
    [InlineData("qwen3")]
    public void KvCacheDecode_TokenByToken_MatchesFullForwardPerPosition(string family)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var config = family switch { "qwen2" => TinyModels.Qwen2(), "qwen3" => TinyModels.Qwen3(), _ => TinyModels.Llama() };
        using var model = TinyModels.Create(config);
        var ids = TinyModels.Ids(Prompt);
        var full = model.forward(ids).Logits;                                  // [1, 10, V]

        using var cache = new KvCache(config.NumHiddenLayers, initialCapacity: 2); // forces growth
        var prefill = model.forward(ids.narrow(1, 0, 4), cache: cache).Logits;   // positions 0..3 at once
        TensorAssert.Close(full.narrow(1, 0, 4), prefill, Tolerance);
        for (int pos = 4; pos < Prompt.Length; pos++)
        {
            var step = model.forward(ids.narrow(1, pos, 1), cache: cache).Logits;  // [1, 1, V]
            var expected = full.narrow(1, pos, 1);
            TensorAssert.Close(expected, step, Tolerance, $"position {pos}");
        }
        Assert.Equal(Prompt.Length, cache.Length);
    }

    [Fact]
    public void ChunkedPrefill_SecondChunkOverCache_MatchesFullForward()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using var model = TinyModels.Create(TinyModels.Llama());
        var ids = TinyModels.Ids(Prompt);
        var full = model.forward(ids).Logits;
        using var cache = new KvCache(2);
        model.forward(ids.narrow(1, 0, 6), cache: cache).Dispose();
        var second = model.forward(ids.narrow(1, 6, 4), cache: cache).Logits;     // needs an offset causal mask
        TensorAssert.Close(full.narrow(1, 6, 4), second, Tolerance);
    }

    [Fact]
    public void SeededCache_PrefixCopiedFromAnotherCache_RestMatchesFullForward()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using var model = TinyModels.Create(TinyModels.Llama());
        var ids = TinyModels.Ids(Prompt);
        var full = model.forward(ids).Logits;
        using var first = new KvCache(2);
        model.forward(ids.narrow(1, 0, 8), cache: first).Dispose();
        var prefix = first.CopyPrefix(6);                                   // a prefix of what the first cache holds
        using var seeded = new KvCache(2, initialCapacity: 2);              // grows to take it
        seeded.Seed(prefix);
        Assert.Equal(6, seeded.Length);
        foreach (var (k, v) in prefix) { k.Dispose(); v.Dispose(); }       // the seeded cache holds copies of its own
        var rest = model.forward(ids.narrow(1, 6, 4), cache: seeded).Logits;
        TensorAssert.Close(full.narrow(1, 6, 4), rest, Tolerance);
        Assert.Throws<InvalidOperationException>(() => seeded.Seed(first.CopyPrefix(2)));
    }

    [Fact]
    public void LeftPaddedBatch_WithCacheDecode_MatchesEachSequenceAlone()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using var model = TinyModels.Create(TinyModels.Llama());
        long[] shortRow = [1, 9, 33, 4];
        long[] longRow = Prompt;
        const long pad = 0;
        var batchIds = TinyModels.Ids([.. Enumerable.Repeat(pad, longRow.Length - shortRow.Length), .. shortRow], longRow);
        var mask = TinyModels.Ids([.. Enumerable.Repeat(0L, longRow.Length - shortRow.Length), .. Enumerable.Repeat(1L, shortRow.Length)],
                                  [.. Enumerable.Repeat(1L, longRow.Length)]);

        using var cache = new KvCache(2);
        var batchLogits = model.forward(batchIds, attentionMask: mask, cache: cache).Logits;   // [2, 10, V]
        Assert.False(batchLogits.isnan().any().item<bool>());
        var aloneShort = model.forward(TinyModels.Ids(shortRow)).Logits;
        var aloneLong = model.forward(TinyModels.Ids(longRow)).Logits;
        TensorAssert.Close(aloneShort[0], batchLogits[0].narrow(0, 6, 4), Tolerance);
        TensorAssert.Close(aloneLong[0], batchLogits[1], Tolerance);

        // One decode step for both rows, padding still in the cache.
        var next = TinyModels.Ids([50], [51]);
        var stepMask = cat([mask, ones(2, 1, dtype: ScalarType.Int64)], 1);
        var step = model.forward(next, attentionMask: stepMask, cache: cache).Logits;          // [2, 1, V]
        var shortThen = model.forward(TinyModels.Ids([.. shortRow, 50])).Logits.narrow(1, 4, 1);
        var longThen = model.forward(TinyModels.Ids([.. longRow, 51])).Logits.narrow(1, 10, 1);
        TensorAssert.Close(shortThen[0], step[0], Tolerance);
        TensorAssert.Close(longThen[0], step[1], Tolerance);
    }

    [Fact]
    public void InputsEmbeds_OfEmbedTokens_EqualsInputIds()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using var model = TinyModels.Create(TinyModels.Qwen3());
        var ids = TinyModels.Ids(Prompt);
        var fromIds = model.forward(ids, returnHiddenStates: true);
        var fromEmbeds = model.forward(inputsEmbeds: model.Embed(ids), returnHiddenStates: true);
        TensorAssert.Identical(fromEmbeds.Logits, fromIds.Logits);
        TensorAssert.Identical(fromEmbeds.HiddenStates!, fromIds.HiddenStates!);
        Assert.Equal([1L, Prompt.Length, 32], fromIds.HiddenStates!.shape);
    }

    [Fact]
    public void GroupedQueryAttention_KvHeadsDuplicated_EqualsMultiHeadModel()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using var gqa = TinyModels.Create(TinyModels.Llama(heads: 4, kvHeads: 2));
        using var mha = TinyModels.Create(TinyModels.Llama(heads: 4, kvHeads: 4), seed: 99);
        var gqaWeights = gqa.state_dict();
        foreach (var (name, p) in mha.state_dict())
        {
            var source = gqaWeights[name];
            // kv head j serves query heads 2j and 2j+1: duplicate each head's block of Dh rows.
            var value = name.Contains("k_proj") || name.Contains("v_proj")
                ? source.view(2, 1, 8, 32).repeat(1, 2, 1, 1).reshape(32, 32)
                : source;
            p.copy_(value);
        }
        var ids = TinyModels.Ids(Prompt);
        TensorAssert.Close(mha.forward(ids).Logits, gqa.forward(ids).Logits, Tolerance);

        // And through the folded-group decode path against the MHA decode.
        using var cacheG = new KvCache(2);
        using var cacheM = new KvCache(2);
        gqa.forward(ids, cache: cacheG).Dispose();
        mha.forward(ids, cache: cacheM).Dispose();
        var next = TinyModels.Ids([7]);
        TensorAssert.Close(mha.forward(next, cache: cacheM).Logits, gqa.forward(next, cache: cacheG).Logits, Tolerance);
    }

    [Fact]
    public void LastTokenOnly_ReturnsFinalPositionLogits()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using var model = TinyModels.Create(TinyModels.Llama(tied: true));
        var ids = TinyModels.Ids(Prompt);
        var last = model.forward(ids, lastTokenOnly: true).Logits;
        Assert.Equal([1L, 1, 97], last.shape);
        TensorAssert.Close(model.forward(ids).Logits.narrow(1, Prompt.Length - 1, 1), last, Tolerance);
    }

    [Fact]
    public void Bfloat16Model_OnCpu_TracksFloat32Logits()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using var f32 = TinyModels.Create(TinyModels.Llama());
        using var bf16 = new CausalLM(TinyModels.Llama(), ScalarType.BFloat16);
        foreach (var (name, p) in bf16.state_dict()) p.copy_(f32.state_dict()[name]);
        var ids = TinyModels.Ids(Prompt);
        var a = f32.forward(ids).Logits;
        var b = bf16.forward(ids).Logits.to(ScalarType.Float32);
        Assert.Equal(ScalarType.BFloat16, bf16.forward(ids).Logits.dtype);
        // bf16 keeps 8 mantissa bits: the same weights give logits within a few percent of their spread.
        TensorAssert.Close(a, b, 0.1 * a.std().item<float>() + 0.05);
    }

    [Fact]
    public void Float16OnCpu_IsRejected()
    {
        Assert.Throws<NotSupportedException>(() => new CausalLM(TinyModels.Llama(), ScalarType.Float16));
    }
}
