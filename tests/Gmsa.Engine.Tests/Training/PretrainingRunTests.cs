using Gmsa.Engine.Checkpoints;
using Gmsa.Engine.Generation;
using Gmsa.Engine.Text;
using Gmsa.Engine.Training;

namespace Gmsa.Engine.Tests.Training;

/// <summary>
/// `gmsa train lm` and `gmsa train export` end to end on a tiny recipe, with the real tok512
/// SentencePiece tokenizer and TinyStories text from the shared fixtures.
/// </summary>
public sealed class PretrainingRunTests : IDisposable
{
    readonly TempDir dir = new();

    const string TinyRecipe = """
        {
          "model": {"model_type": "llama", "vocab_size": 512, "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
                    "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 64, "rms_norm_eps": 1e-5,
                    "tie_word_embeddings": true, "bos_token_id": 1, "eos_token_id": 2},
          "training": {"steps": 8, "learning_rate": 0.003, "min_learning_rate": 0.0003, "warmup_steps": 2,
                       "eval_every": 4, "eval_windows": 8, "checkpoint_every": 4, "log_every": 2},
          "sequence_length": 32, "micro_batch": 4, "seed": 3, "dtype": "bfloat16"
        }
        """;

    /// <summary>Tokenizer folder and token files made from the fixtures, as `gmsa data` would make them.</summary>
    PretrainingPaths Prepare()
    {
        var tokenizerDir = Directory.CreateDirectory(dir.File("tokenizer")).FullName;
        File.Copy(Fixtures.Require("stories260k/tok512.model"), Path.Combine(tokenizerDir, "tokenizer.model"));
        var tokenizer = TextTokenizer.Load(tokenizerDir);
        var stories = File.ReadAllText(Fixtures.Require("stories260k/tinystories_validation_100.txt"))
            .Split("<|endoftext|>", StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var dataDir = Directory.CreateDirectory(dir.File("tokens")).FullName;
        void Write(string split, IEnumerable<string> docs) => TokenFile.Write(Path.Combine(dataDir, $"{split}.bin"),
            docs.SelectMany(d => tokenizer.Encode(d, addBos: true, addEos: true)).Select(i => (ushort)i).ToArray(), tokenizer.VocabSize);
        Write("train", stories.Skip(20));
        Write("validation", stories.Take(10));
        Write("test", stories.Skip(10).Take(10));
        return new PretrainingPaths(dataDir, tokenizerDir, dir.File("run"));
    }

    [Fact]
    public async Task Run_TinyRecipe_WritesAFinalModelThatLoadsAndGenerates()
    {
        var paths = Prepare();
        var result = PretrainingRun.Run(TrainingRecipe.Parse(TinyRecipe), paths, resume: false);
        Assert.True(result.Completed);
        Assert.Equal(8, result.StepLosses.Count);

        var headers = ShardedCheckpoint.ReadHeaders(paths.FinalModel);
        Assert.All(headers.Values, h => Assert.Equal("BF16", h.Dtype));
        Assert.DoesNotContain("lm_head.weight", headers.Keys);            // tied
        Assert.True(File.Exists(Path.Combine(paths.FinalModel, "tokenizer.model")));
        using var lm = LanguageModel.Load(paths.FinalModel);
        Assert.Equal(1, lm.Model.Config.BosTokenId);
        var text = await lm.CompleteAsync(["Once upon a time"], new SamplingOptions { MaxNewTokens = 8 }, cancellation: TestContext.Current.CancellationToken);
        Assert.True(text.Result.Sequences[0].Tokens.Count > 0);
    }

    [Fact]
    public void Export_FinishedRun_MeasuresPerplexityAndWritesTheCard()
    {
        var paths = Prepare();
        PretrainingRun.Run(TrainingRecipe.Parse(TinyRecipe), paths, resume: false);
        var outDir = dir.File("gmsa-test");
        Gmsa.Engine.Text.TokenizerConfig.WriteLlama(paths.FinalModel, modelMaxLength: 2048); // as `gmsa data tokenizer` writes it
        var card = ModelExport.Export(paths.Run, outDir, ["gmsa train lm --recipe tiny.json --out run"], sampleTokens: 6);

        // Tokens seen = steps x micro-batch x sequence; perplexity is finite and far below uniform (512).
        Assert.Equal(8 * 4 * 32, card.FinalState.TokensSeen);
        Assert.InRange(Math.Exp(card.ValidationLoss), 1, 512);
        Assert.InRange(Math.Exp(card.TestLoss), 1, 512);
        Assert.Equal(2 * ModelExport.SamplePrompts.Count, card.Samples.Count);
        var markdown = card.ToMarkdown();
        Assert.Contains($"**{Math.Exp(card.ValidationLoss):F2}**", markdown);
        Assert.Contains("gmsa train lm --recipe tiny.json --out run", markdown);
        Assert.True(File.Exists(Path.Combine(outDir, "model.safetensors")));
        using var exported = LanguageModel.Load(outDir);
        Assert.Equal(card.Parameters, exported.Model.ParameterCount());
        // The tokenizer's length limit in the shipped folder is the model's context, not the trainer's default.
        var tokenizerConfig = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(outDir, "tokenizer_config.json")))!;
        Assert.Equal(card.Recipe.Model.MaxPositionEmbeddings, (int)tokenizerConfig["model_max_length"]!);
    }

    [Fact]
    public void Run_ResumeWithAnotherRecipe_IsRefused()
    {
        var paths = Prepare();
        var recipe = TrainingRecipe.Parse(TinyRecipe);
        PretrainingRun.Run(recipe with { Training = recipe.Training with { Steps = 4 } }, paths, resume: false);
        var e = Assert.Throws<InvalidOperationException>(() => PretrainingRun.Run(recipe, paths, resume: true));
        Assert.Contains("another recipe", e.Message);
        var again = Assert.Throws<InvalidOperationException>(() => PretrainingRun.Run(recipe, paths, resume: false));
        Assert.Contains("already holds a run", again.Message);
    }

    [Fact]
    public void Run_InitFromAModelWithTinyLearningRate_EndsWithThatModelsWeights()
    {
        var paths = Prepare();
        var recipe = TrainingRecipe.Parse(TinyRecipe);
        PretrainingRun.Run(recipe, paths, resume: false);

        // Continued pretraining on repeated passages with steps far below float32 resolution: the weights it starts from come out unchanged.
        var continued = recipe with
        {
            InitFrom = paths.FinalModel,
            RepeatedPassages = new RepeatedPassages { Fraction = 1, MinTokens = 4, MaxTokens = 8 },
            Training = recipe.Training with { Steps = 2, LearningRate = 1e-30, MinLearningRate = 1e-30, WeightDecay = 0, WarmupSteps = 0 },
        };
        var second = paths with { Run = dir.File("continued") };
        var result = PretrainingRun.Run(continued, second, resume: false);
        Assert.True(result.Completed);
        using var before = PretrainedModel.Load(paths.FinalModel);
        using var after = PretrainedModel.Load(second.FinalModel);
        var expected = before.state_dict();
        foreach (var (name, p) in after.state_dict()) Assert.True(p.eq(expected[name]).all().item<bool>(), name);
        // The first loss is the trained model's, below a random model's ln 512 = 6.24.
        Assert.True(result.StepLosses[0] < 6.0, $"first loss {result.StepLosses[0]}");
    }

    [Fact]
    public void Run_InitFromAnotherArchitecture_IsRefused()
    {
        var paths = Prepare();
        var recipe = TrainingRecipe.Parse(TinyRecipe);
        PretrainingRun.Run(recipe with { Training = recipe.Training with { Steps = 2 } }, paths, resume: false);
        var wider = recipe with { Model = recipe.Model with { IntermediateSize = 96 }, InitFrom = paths.FinalModel };
        var e = Assert.Throws<InvalidDataException>(() => PretrainingRun.Run(wider, paths with { Run = dir.File("wider") }, resume: false));
        Assert.Contains("another architecture", e.Message);
    }

    public void Dispose() => dir.Dispose();
}
