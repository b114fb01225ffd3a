using Gmsa.Engine.Checkpoints;
using Gmsa.Engine.Generation;
using Gmsa.Engine.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace Gmsa.Engine.Tests.Model;

/// <summary>
/// The hand-written CPU decode step must be the libtorch forward by other means: same logits after the same prefill
/// (every family's features: GQA, q/k/v bias, q/k norm, llama3 rope scaling, tied and untied heads), with left padding,
/// across cache growth, and in bf16 no further from float32 than libtorch's own bf16 path.
/// </summary>
public sealed class CpuDecodeStepTests
{
    const double Tolerance = 1e-4; // float32; the paths differ only in summation order

    /// <summary>Prefills <paramref name="prompts"/> (left-padded) and decodes <paramref name="steps"/> tokens both ways in lockstep.</summary>
    static void AssertSameLogits(CausalLM model, long[][] prompts, int steps, double tolerance, long initialCapacity = 256)
    {
        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        var (ids, mask) = PromptBatch.LeftPad(prompts.Select(p => (IReadOnlyList<int>)p.Select(t => (int)t).ToArray()).ToArray(), padId: 0);
        using var reference = new KvCache(model.Config.NumHiddenLayers, initialCapacity);
        using var fast = new KvCache(model.Config.NumHiddenLayers, initialCapacity);
        model.forward(ids, attentionMask: mask, cache: reference, lastTokenOnly: true);
        model.forward(ids, attentionMask: mask, cache: fast, lastTokenOnly: true);
        var step = new CpuDecodeStep(model);
        var tokens = prompts.Select((_, r) => (long)(5 + r)).ToArray();
        for (int s = 0; s < steps; s++)
        {
            mask = cat([mask, ones(prompts.Length, 1, dtype: mask.dtype)], 1);
            Assert.True(step.Supports(prompts.Length, fast));
            var expected = model.forward(tensor(tokens, [tokens.Length, 1]), attentionMask: mask, cache: reference).Logits.squeeze(1);
            var actual = step.Forward(tokens, mask, fast);
            TensorAssert.Close(expected, actual, tolerance, $"step {s}");
            tokens = expected.argmax(-1).data<long>().ToArray();
        }
        Assert.Equal(reference.Length, fast.Length);
    }

    [Theory]
    [InlineData("llama")]  // MHA, untied head
    [InlineData("qwen2")]  // GQA 8/2, q/k/v bias, tied
    [InlineData("qwen3")]  // q/k norm, head_dim 32 with hidden 64
    [InlineData("llama3")] // rope_scaling llama3
    public void Forward_ReferenceCheckpoints_MatchesLibtorchDecode(string family)
    {
        using var model = PretrainedModel.Load(Fixtures.Require($"hf-reference/{family}"), ScalarType.Float32);
        model.eval();
        AssertSameLogits(model, [[1, 17, 42, 99, 7, 3]], steps: 8, Tolerance);
    }

    [Fact]
    public void Forward_LeftPaddedBatchOfDifferentLengths_MatchesLibtorchDecode()
    {
        using var model = TinyModels.Create(TinyModels.Llama());
        AssertSameLogits(model, [[1, 5, 17, 42, 8, 9, 10], [1, 2], [1, 33, 34, 35]], steps: 6, Tolerance);
    }

    [Fact]
    public void Forward_MoreRowsThanTheKernelTakes_MatchesLibtorchDecodeThroughItsGemm()
    {
        using var model = TinyModels.Create(TinyModels.Qwen2());            // biases: the fused q/k/v buffer carries them too
        var rows = Enumerable.Range(0, CpuDecodeStep.KernelRows + 2).Select(r => Enumerable.Range(1, 2 + r).Select(t => (long)(t * 7 % 90 + 3)).ToArray()).ToArray();
        AssertSameLogits(model, rows, steps: 5, Tolerance);
    }

    [Fact]
    public void Forward_CacheGrowsPastItsCapacity_MatchesLibtorchDecode()
    {
        using var model = TinyModels.Create(TinyModels.Qwen3());
        AssertSameLogits(model, [[1, 5, 17], [1, 9, 4]], steps: 12, Tolerance, initialCapacity: 4);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(9)]   // the kernel's 512-bit tiles take the projections of rows in fours
    public void Forward_Bf16Model_IsNoFurtherFromFloat32ThanLibtorchBf16(int rows)
    {
        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        var config = TinyModels.Qwen2();
        using var bf16 = TinyModels.Create(config, dtype: ScalarType.BFloat16);
        using var f32 = new CausalLM(config);                 // the same bf16 weights, held in float32
        using (no_grad())
            foreach (var (name, p) in f32.named_parameters()) p.copy_(bf16.state_dict()[name]);
        f32.eval();
        var ids = TinyModels.Ids(Enumerable.Range(0, rows).Select(r => new long[] { 1, 5 + r, 17, 42, 8 }).ToArray()); // [rows, 5]
        var next = Enumerable.Range(0, rows).Select(r => 9L + r).ToArray();
        Tensor Decode(CausalLM model, bool kernel)
        {
            using var cache = new KvCache(config.NumHiddenLayers);
            model.forward(ids, cache: cache, lastTokenOnly: true);
            return kernel ? new CpuDecodeStep(model).Forward(next, null, cache)
                          : model.forward(tensor(next, [rows, 1]), cache: cache).Logits.squeeze(1).to(ScalarType.Float32);
        }
        var exact = Decode(f32, kernel: false);
        float kernelError = TensorAssert.MaxDiff(exact, Decode(bf16, kernel: true));
        float libtorchError = TensorAssert.MaxDiff(exact, Decode(bf16, kernel: false));
        Assert.True(kernelError <= libtorchError, $"kernel bf16 error {kernelError} > libtorch bf16 error {libtorchError}");
    }

    [Fact]
    public void Supports_UnmergedActiveAdapter_IsFalseUntilMerged()
    {
        using var model = TinyModels.Create(TinyModels.Llama());
        Lora.AddAdapters(model, new LoraOptions(Rank: 4, Alpha: 8, Dropout: 0), seed: 1);
        model.eval();
        using var inference = inference_mode();
        using var cache = new KvCache(model.Config.NumHiddenLayers);
        using (var s = NewDisposeScope()) model.forward(TinyModels.Ids([1, 5]), cache: cache);
        var step = new CpuDecodeStep(model);
        Assert.False(step.Supports(1, cache));
        Lora.MergeForInference(model);
        Assert.True(step.Supports(1, cache));
    }

    [Fact]
    public void Generate_HundredsOfFastSteps_LiveTensorCountStaysFlat()
    {
        using var runner = new ModelRunner("fast-decode-leak-test");
        var (before, after) = runner.Run(() =>
        {
            using var model = TinyModels.Create(TinyModels.Llama());
            var options = new SamplingOptions { MaxNewTokens = 40 };
            TokenGenerator.Generate(model, [[1, 5, 17]], options, 0);
            long start = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
            for (int i = 0; i < 10; i++) TokenGenerator.Generate(model, [[1, 5, 17], [1, 2]], options with { Seed = i }, 0);
            return (start, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
        });
        Assert.Equal(before, after);
    }

    [Fact]
    public void Forward_TokenOutsideVocabulary_ThrowsInsteadOfReadingPastTheTable()
    {
        using var model = TinyModels.Create(TinyModels.Llama());
        using var inference = inference_mode();
        using var cache = new KvCache(model.Config.NumHiddenLayers);
        using (var s = NewDisposeScope()) model.forward(TinyModels.Ids([1, 5]), cache: cache);
        var step = new CpuDecodeStep(model);
        Assert.Throws<ArgumentOutOfRangeException>(() => step.Forward([model.Config.VocabSize], null, cache));
        Assert.Throws<ArgumentOutOfRangeException>(() => step.Forward([-1], null, cache));
    }
}
