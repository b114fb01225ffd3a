using Gmsa.Engine.Compression;
using Gmsa.Engine.Generation;
using Gmsa.Engine.Model;
using Gmsa.Engine.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Gmsa.Engine.Tests.Compression;

/// <summary>GMSA's two training stages on a tiny random decoder: what learns, how the loss is taken, resume, overfitting.</summary>
[Collection(GlobalRandomState.Name)]
public sealed class CompressionObjectiveTests
{
    static readonly int[] Prompt = [10, 11, 12];

    static ExampleList Autoencoding(int count, int seed, int minLength = 6, int maxLength = 16)
    {
        var rng = new Random(seed);
        return new ExampleList(Enumerable.Range(0, count).Select(i =>
        {
            var context = TinyCompressors.Context(rng.Next(minLength, maxLength + 1), seed * 1000 + i);
            return new CompressionExample(context, Prompt, [.. context, 2]);
        }).ToArray());
    }

    static ExampleList Questions(int count, int seed) => new(Enumerable.Range(0, count).Select(i =>
        new CompressionExample(TinyCompressors.Context(12 + i % 20, seed + i), [20, 21 + i % 3], [30 + i % 5, 2])).ToArray());

    static TrainingOptions Options(int steps) => new()
    {
        Steps = steps, GradientAccumulation = 2, LearningRate = 1e-2, MinLearningRate = 1e-3, WarmupSteps = 1,
        EvalEvery = 100, EvalWindows = 4, CheckpointEvery = 2, KeepCheckpoints = 2, LogEvery = 1, GradientClip = 2.0,
    };

    static void Backward(CompressionObjective objective)
    {
        var (loss, tokens) = objective.NextLoss();
        Assert.True(tokens > 0);
        loss.backward();
    }

    static List<string> WithGradients(nn.Module module, string prefix) =>
        module.named_parameters().Where(p => p.parameter.grad is not null).Select(p => prefix + p.name).ToList();

    [Fact]
    public void Autoencoder_Backward_OnlyEncoderAdaptersAndLsaGetGradients()
    {
        var (decoder, compressor) = TinyCompressors.Create();
        using var _ = decoder; using var __ = compressor;
        var objective = new CompressionObjective(compressor, decoder, Autoencoding(8, 1), Autoencoding(4, 2),
            trainCompressor: true, DecoderTraining.Frozen, microBatch: 4, seed: 3);
        Backward(objective);
        Assert.Empty(WithGradients(decoder, "decoder."));
        Assert.All(decoder.parameters(), p => Assert.False(p.requires_grad));
        var expected = compressor.TrainableParameters().Select(p => "compressor." + p.Name).Order().ToList();
        Assert.Equal(expected, objective.Trainable.Select(p => p.Name).Order());
        Assert.Equal(expected, WithGradients(compressor, "compressor.").Order());
        // lora_B starts at zero, so its gradient is the first to move; the LSA block gets one through the soft tokens.
        Assert.True(compressor.named_parameters().Where(p => p.name.EndsWith("lora_B.weight")).All(p => p.parameter.grad!.abs().sum().item<float>() > 0));
        Assert.True(compressor.named_parameters().First(p => p.name == "memory_fusion_layer.layers.0.self_attn.q_proj.weight").parameter.grad!.abs().sum().item<float>() > 0);
    }

    [Fact]
    public void Autoencoder_DecoderAdapters_AlsoGetGradientsButNotTheDecoderBase()
    {
        var (decoder, compressor) = TinyCompressors.Create();
        using var _ = decoder; using var __ = compressor;
        Lora.AddAdapters(decoder, compressor.Config.DecoderLora!, seed: 4, Lora.InDecoderBlocks);
        var objective = new CompressionObjective(compressor, decoder, Autoencoding(8, 1), Autoencoding(4, 2),
            trainCompressor: true, DecoderTraining.Lora, microBatch: 4, seed: 3);
        Backward(objective);
        var decoderGrads = WithGradients(decoder, "");
        Assert.Equal(28, decoderGrads.Count);
        Assert.All(decoderGrads, name => Assert.True(Lora.IsAdapterKey(name), name));
    }

    [Theory]
    [InlineData(DecoderTraining.Qkv)]
    [InlineData(DecoderTraining.Full)]
    public void Finetune_Backward_OnlyTheChosenDecoderPartsGetGradients(DecoderTraining mode)
    {
        var (decoder, compressor) = TinyCompressors.Create();
        using var _ = decoder; using var __ = compressor;
        var objective = new CompressionObjective(compressor, decoder, Questions(8, 1), Questions(4, 50),
            trainCompressor: false, mode, microBatch: 4, seed: 3);
        Backward(objective);
        Assert.Empty(WithGradients(compressor, ""));
        Assert.All(compressor.parameters(), p => Assert.False(p.requires_grad));
        var grads = WithGradients(decoder, "");
        if (mode == DecoderTraining.Qkv)
        {
            Assert.Equal(6, grads.Count); // q, k, v of 2 blocks
            Assert.All(grads, n => Assert.Matches(@"\.(q|k|v)_proj\.weight$", n));
        }
        else
            Assert.Equal(decoder.parameters().Count(), grads.Count);
    }

    [Fact]
    public void LossSum_PackedBatch_EqualsItsRowsOneByOne()
    {
        var (decoder, compressor) = TinyCompressors.Create();
        using var _ = decoder; using var __ = compressor;
        var objective = new CompressionObjective(compressor, decoder, Autoencoding(8, 1), Autoencoding(4, 2),
            trainCompressor: true, DecoderTraining.Frozen, microBatch: 4, seed: 3);
        objective.SetTraining(false);
        var examples = Autoencoding(3, 7, minLength: 3, maxLength: 16);
        var batch = Enumerable.Range(0, 3).Select(i => (examples[i], new[] { 4, 1, 2 }[i])).ToList();
        using var noGrad = no_grad();
        var (sum, tokens) = objective.LossSum(batch, withGrad: false);
        double alone = 0;
        long aloneTokens = 0;
        foreach (var row in batch)
        {
            var (s, t) = objective.LossSum([row], withGrad: false);
            alone += s.item<float>();
            aloneTokens += t;
        }
        Assert.Equal(aloneTokens, tokens);
        Assert.Equal(alone, sum.item<float>(), 3);
    }

    [Fact]
    public void LossSum_FullContextReferenceOverTheWindow_ReadsTheHeadThatFits()
    {
        // The tiny decoder's window is 96: a 150-token context with a 3-token prompt and 5-token target keeps its first 88.
        var config = TinyCompressors.Config(CompressionMethod.None, AlignmentKind.None) with { Rates = [1] };
        var (decoder, compressor) = TinyCompressors.Create(config);
        using var _ = decoder; using var __ = compressor;
        Lora.AddAdapters(decoder, config.DecoderLora!, seed: 4, Lora.InDecoderBlocks);
        var context = TinyCompressors.Context(150, 9);
        int[] prompt = [5, 6, 7], target = [8, 9, 10, 11, 2];
        var whole = new CompressionExample(context, prompt, target);
        var head = new CompressionExample(context[..88], prompt, target);
        var objective = new CompressionObjective(compressor, decoder, new ExampleList([whole]), new ExampleList([whole]),
            trainCompressor: false, DecoderTraining.Lora, microBatch: 1, seed: 3);
        objective.SetTraining(false);
        using var noGrad = no_grad();

        var (cut, tokens) = objective.LossSum([(whole, 1)], withGrad: false);
        var (fitting, _) = objective.LossSum([(head, 1)], withGrad: false);

        Assert.Equal(5, tokens);
        Assert.Equal(fitting.item<float>(), cut.item<float>());
    }

    [Fact]
    public void Trainer_OneShortContext_OverfitsToNearZeroReconstructionLoss()
    {
        using var run = new TempDir();
        var (decoder, compressor) = TinyCompressors.Create(TinyCompressors.Config() with { Rates = [2] }, std: 0.5);
        using var _ = decoder; using var __ = compressor;
        Lora.AddAdapters(decoder, compressor.Config.DecoderLora!, seed: 4, Lora.InDecoderBlocks);
        var one = Autoencoding(1, 5, minLength: 12, maxLength: 12);
        var objective = new CompressionObjective(compressor, decoder, one, one, trainCompressor: true, DecoderTraining.Lora, microBatch: 1, seed: 3);
        objective.SetTraining(false);
        double before = objective.ValidationLoss(null);
        var result = new Trainer(objective, Options(200) with { GradientAccumulation = 1, LearningRate = 3e-2, MinLearningRate = 1e-2, CheckpointEvery = 200, EvalEvery = 200 }, run.Path).Run(resume: false);
        Assert.True(result.ValidationLoss < 0.02, $"reconstruction loss {before:F3} -> {result.ValidationLoss:F4}");
    }

    static (TrainingResult Result, CausalLM Decoder, ContextCompressor Compressor) Train(string run, int steps, int? stopAfter, bool resume)
    {
        manual_seed(42);
        DropoutRandom.Seed(42); // LoRA dropout draws from it; a resumed run restores its state from the checkpoint
        var (decoder, compressor) = TinyCompressors.Create(TinyCompressors.Config() with { LoraDropout = 0.1 }, ScalarType.BFloat16);
        var objective = new CompressionObjective(compressor, decoder, Autoencoding(20, 1), Autoencoding(4, 2),
            trainCompressor: true, DecoderTraining.Frozen, microBatch: 3, seed: 3);
        using var stop = new CancellationTokenSource();
        var result = new Trainer(objective, Options(steps), run).Run(resume, p => { if (p.Step == stopAfter) stop.Cancel(); }, stop.Token);
        return (result, decoder, compressor);
    }

    [Fact]
    public void Trainer_ResumedMidRun_RepeatsTheUninterruptedLossesExactly()
    {
        using var straight = new TempDir();
        using var interrupted = new TempDir();
        var (full, d1, c1) = Train(straight.Path, 6, stopAfter: null, resume: false);
        var (first, d2, c2) = Train(interrupted.Path, 6, stopAfter: 3, resume: false);
        var (rest, d3, c3) = Train(interrupted.Path, 6, stopAfter: null, resume: true);
        foreach (var m in new nn.Module[] { d1, c1, d2, c2, d3, c3 }) m.Dispose();
        Assert.Equal(3, first.Step);
        Assert.True(rest.Completed);
        Assert.Equal(full.StepLosses.Skip(3), rest.StepLosses); // bit for bit: same examples, rates, dropout masks, moments
        Assert.Equal(full.StepLosses.Take(3), first.StepLosses);
    }

    [Fact]
    public void GenerateFromEmbeddings_SoftTokensAndPrompt_EqualsGreedyFullForwardOverTheSameEmbeddings()
    {
        var (decoder, compressor) = TinyCompressors.Create();
        using var _ = decoder; using var __ = compressor;
        decoder.eval();
        var soft = SegmentedCompression.Compress(compressor, [TinyCompressors.Context(30, 1), TinyCompressors.Context(9, 2)], [4, 2]);
        int[][] prompts = [[20, 21, 22], [23]];
        var rows = soft.Select((s, i) => new SoftPromptRow(s, prompts[i], [])).ToList();
        using var packed = SoftPromptBatch.Pack(decoder, rows, padLeft: true);
        var generated = TokenGenerator.GenerateFromEmbeddings(decoder, packed.Embeds, packed.Mask,
            new SamplingOptions { MaxNewTokens = 6 }, padId: 0);
        using var noGrad = no_grad();
        for (int row = 0; row < rows.Count; row++)
        {
            var tokens = new List<int>();
            for (int step = 0; step < 6; step++)
            {
                using var scope = NewDisposeScope();
                using var alone = SoftPromptBatch.Pack(decoder, [rows[row] with { Prompt = [.. prompts[row], .. tokens] }], padLeft: true);
                tokens.Add((int)decoder.forward(inputsEmbeds: alone.Embeds).Logits[0, -1].argmax().item<long>());
            }
            Assert.Equal(tokens, generated.Sequences[row].Tokens);
        }
    }
}
