using Gmsa.Engine.Compression;
using Gmsa.Engine.Corpus;
using Gmsa.Engine.Training;

namespace Gmsa.Engine.Tests.Compression;

/// <summary>
/// Both stages as the CLI runs them, on the committed gmsa-tiny with a small compressor and a few steps: run
/// folders, relative paths, the final compressor folder, export from a checkpoint, stage 2 from stage 1.
/// </summary>
[Collection(GlobalRandomState.Name)] // the runs seed libtorch's default generator
public sealed class CompressorTrainingRunTests
{
    static readonly string ModelDir = RepoFiles.Path("models/gmsa-tiny");

    static CompressorRecipe Recipe(CompressorStage stage) => new()
    {
        Stage = stage,
        Compressor = new CompressorConfig { EncoderLayers = 1, LoraRank = 4, LoraDropout = 0, Rates = [4, 8], SegmentLength = 32, DecoderLoraRank = 4 },
        DecoderTraining = stage == CompressorStage.Autoencoder ? DecoderTraining.Frozen : DecoderTraining.Lora,
        Context = new ContextLengths(8, 32),
        ValidationExamples = 4,
        AutoencoderShare = stage == CompressorStage.Finetune ? 0.5 : 0,
        Training = new TrainingOptions { Steps = 3, WarmupSteps = 1, LearningRate = 1e-3, MinLearningRate = 1e-4, EvalEvery = 3, CheckpointEvery = 2, LogEvery = 1 },
        MicroBatch = 2,
    };

    /// <summary>Token files of a few "documents" of the model's own ids, [BOS] ... [EOS] as `gmsa data encode` writes them.</summary>
    static void WriteTokens(string folder)
    {
        Directory.CreateDirectory(folder);
        var rng = new Random(3);
        foreach (var split in new[] { "train", "validation" })
        {
            var ids = new List<ushort>();
            for (int d = 0; d < 12; d++)
            {
                ids.Add(1);
                ids.AddRange(Enumerable.Range(0, 80).Select(_ => (ushort)rng.Next(3, 8192)));
                ids.Add(2);
            }
            TokenFile.Write(Path.Combine(folder, $"{split}.bin"), ids.ToArray(), 8192);
        }
    }

    /// <summary>A stage-2 data folder: every item for training, the first two held out for validation.</summary>
    static void WriteQa(string folder, IReadOnlyList<QaItem> items)
    {
        QaJsonl.Write(Path.Combine(folder, "train.jsonl"), items);
        QaJsonl.Write(Path.Combine(folder, "validation.jsonl"), items.Take(2));
    }

    [Fact]
    public void Run_BothStagesAndExport_WriteLoadableCompressorFoldersWithRelativeRunRecords()
    {
        using var dir = new TempDir();
        string tokens = Path.Combine(dir.Path, "tokens"), qa = Path.Combine(dir.Path, "qa");
        WriteTokens(tokens);
        var items = Enumerable.Range(0, 6).Select(i => new QaItem($"The capital of Land{i} is City{i}. It lies by the sea.", $" Question: What is the capital of Land{i}? Answer:", [$"City{i}"])).ToList();
        WriteQa(qa, items);

        var ae = new CompressorPaths(ModelDir, [tokens], Path.Combine(dir.Path, "ae"));
        var first = CompressorTrainingRun.Run(Recipe(CompressorStage.Autoencoder), ae, resume: false);
        Assert.True(first.Completed);
        Assert.True(CompressorFolder.Exists(ae.Final));
        var record = File.ReadAllText(ae.RunFile);
        Assert.DoesNotContain(Path.GetFullPath(dir.Path), record); // a run copied elsewhere still resumes
        Assert.Contains("\"../tokens\"", record);

        string exported = Path.Combine(dir.Path, "exported");
        Assert.EndsWith("step-0000003", CompressorTrainingRun.ExportCheckpoint(ae.Run, ModelDir, exported));
        foreach (var file in new[] { "alignment.safetensors", Path.Combine("encoder_adapter", "adapter_model.safetensors") })
            Assert.Equal(File.ReadAllBytes(Path.Combine(ae.Final, file)), File.ReadAllBytes(Path.Combine(exported, file)));

        var ft = new CompressorPaths(ModelDir, [qa], Path.Combine(dir.Path, "ft"), InitFrom: ae.Final, Tokens: tokens);
        var second = CompressorTrainingRun.Run(Recipe(CompressorStage.Finetune), ft, resume: false);
        Assert.True(second.Completed);
        Assert.True(Directory.Exists(Path.Combine(ft.Final, CompressorFolder.DecoderAdapter)));
        using var gmsa = GmsaModel.Load(ModelDir, ft.Final);
        Assert.Equal(4, gmsa.Config.DecoderLoraRank);
        Assert.Throws<InvalidOperationException>(() => CompressorTrainingRun.Run(Recipe(CompressorStage.Autoencoder), ae, resume: false));
    }

    [Fact]
    public void Run_Stage1FromACompressorFolder_ContinuesItsWeightsAndRefusesAnotherShape()
    {
        using var dir = new TempDir();
        string tokens = Path.Combine(dir.Path, "tokens");
        WriteTokens(tokens);
        var recipe = Recipe(CompressorStage.Autoencoder);
        var first = new CompressorPaths(ModelDir, [tokens], Path.Combine(dir.Path, "first"));
        Assert.True(CompressorTrainingRun.Run(recipe, first, resume: false).Completed);

        // A learning rate too small to move bf16 weights: the continued run ends where the folder began.
        var still = recipe with { Training = recipe.Training with { Steps = 1, WarmupSteps = 0, LearningRate = 1e-30, MinLearningRate = 1e-31, EvalEvery = 1 } };
        var continued = new CompressorPaths(ModelDir, [tokens], Path.Combine(dir.Path, "continued"), InitFrom: first.Final);
        Assert.True(CompressorTrainingRun.Run(still, continued, resume: false).Completed);
        foreach (var file in new[] { "alignment.safetensors", Path.Combine("encoder_adapter", "adapter_model.safetensors") })
            Assert.Equal(File.ReadAllBytes(Path.Combine(first.Final, file)), File.ReadAllBytes(Path.Combine(continued.Final, file)));
        // And a fresh stage 1 does not begin there: the folder's weights are what the continuation started from.
        var fresh = new CompressorPaths(ModelDir, [tokens], Path.Combine(dir.Path, "fresh"));
        Assert.True(CompressorTrainingRun.Run(still, fresh, resume: false).Completed);
        Assert.NotEqual(File.ReadAllBytes(Path.Combine(first.Final, "alignment.safetensors")), File.ReadAllBytes(Path.Combine(fresh.Final, "alignment.safetensors")));

        // Token files that another tokenizer wrote are refused before anything trains or a run folder is written.
        File.WriteAllText(Path.Combine(tokens, CorpusEncoder.SummaryFile), $"{{\"tokenizer_model_sha256\": \"{new string('0', 64)}\"}}");
        var foreign = fresh with { Run = Path.Combine(dir.Path, "foreign") };
        var refused = Assert.Throws<InvalidDataException>(() => CompressorTrainingRun.Run(recipe, foreign, resume: false));
        Assert.Contains("encoded by another tokenizer", refused.Message);
        Assert.False(Directory.Exists(foreign.Run));

        var deeper = recipe with { Compressor = recipe.Compressor with { EncoderLayers = 2 } };
        var e = Assert.Throws<ArgumentException>(() => CompressorTrainingRun.Run(deeper, continued with { Run = Path.Combine(dir.Path, "deeper") }, resume: false));
        Assert.Contains("encoder_layers 1 (recipe: 2)", e.Message);
    }

    /// <summary>Stage 1 with rank-4 decoder adapters, as the shipped recipe trains them, and a stage-2 data folder.</summary>
    static (CompressorPaths Stage1, string Qa, string Tokens) Stage1WithDecoderAdapters(string dir)
    {
        string tokens = Path.Combine(dir, "tokens"), qa = Path.Combine(dir, "qa");
        WriteTokens(tokens);
        var items = Enumerable.Range(0, 4).Select(i => new QaItem($"The capital of Land{i} is City{i}.", $" Question: What is the capital of Land{i}? Answer:", [$"City{i}"])).ToList();
        WriteQa(qa, items);
        var ae = new CompressorPaths(ModelDir, [tokens], Path.Combine(dir, "ae"));
        Assert.True(CompressorTrainingRun.Run(Recipe(CompressorStage.Autoencoder) with { DecoderTraining = DecoderTraining.Lora }, ae, resume: false).Completed);
        return (ae, qa, tokens);
    }

    [Fact]
    public void Run_Stage2WithoutRestating_KeepsStage1DecoderAdapterAsTheRestateAdapterAndExportDoesToo()
    {
        using var dir = new TempDir();
        var (ae, qa, tokens) = Stage1WithDecoderAdapters(dir.Path);
        string Weights(string folder, string adapter) => Path.Combine(folder, adapter, "adapter_model.safetensors");

        // With restating in the mix the one adapter still restates: nothing kept beside it.
        var mixed = new CompressorPaths(ModelDir, [qa], Path.Combine(dir.Path, "mixed"), InitFrom: ae.Final, Tokens: tokens);
        Assert.True(CompressorTrainingRun.Run(Recipe(CompressorStage.Finetune), mixed, resume: false).Completed);
        Assert.False(CompressorFolder.HasRestateAdapter(mixed.Final));

        var answersOnly = Recipe(CompressorStage.Finetune) with { AutoencoderShare = 0 };
        var ft = new CompressorPaths(ModelDir, [qa], Path.Combine(dir.Path, "answers"), InitFrom: ae.Final);
        Assert.True(CompressorTrainingRun.Run(answersOnly, ft, resume: false).Completed);
        var stage1Adapter = File.ReadAllBytes(Weights(ae.Final, CompressorFolder.DecoderAdapter));
        Assert.Equal(stage1Adapter, File.ReadAllBytes(Weights(ft.Final, CompressorFolder.RestateAdapter)));
        Assert.NotEqual(stage1Adapter, File.ReadAllBytes(Weights(ft.Final, CompressorFolder.DecoderAdapter)));   // trained on
        string exported = Path.Combine(dir.Path, "exported");
        CompressorTrainingRun.ExportCheckpoint(ft.Run, ModelDir, exported);
        Assert.Equal(stage1Adapter, File.ReadAllBytes(Weights(exported, CompressorFolder.RestateAdapter)));
        using var gmsa = GmsaModel.Load(ModelDir, ft.Final);
        Assert.True(gmsa.HasRestateAdapter);
    }

    [Fact]
    public void Run_Stage2OnStage1DecoderAdaptersOfAnotherRank_RefusesNamingBothShapes()
    {
        using var dir = new TempDir();
        var (ae, qa, tokens) = Stage1WithDecoderAdapters(dir.Path);

        // Stage 2 goes on training those adapters, so a recipe asking rank 8 would get rank 4 without a word: refused.
        var wider = Recipe(CompressorStage.Finetune) with { Compressor = Recipe(CompressorStage.Finetune).Compressor with { DecoderLoraRank = 8, DecoderLoraAlpha = 8 } };
        var ft = new CompressorPaths(ModelDir, [qa], Path.Combine(dir.Path, "ft"), InitFrom: ae.Final, Tokens: tokens);
        var e = Assert.Throws<ArgumentException>(() => CompressorTrainingRun.Run(wider, ft, resume: false));
        Assert.Contains("rank 4 and alpha 32", e.Message);
        Assert.Contains("asks rank 8 and alpha 8", e.Message);
        Assert.False(File.Exists(ft.RunFile)); // nothing recorded: the corrected recipe runs in the same folder

        // The same shape continues them.
        Assert.True(CompressorTrainingRun.Run(Recipe(CompressorStage.Finetune), ft, resume: false).Completed);
        using var gmsa = GmsaModel.Load(ModelDir, ft.Final);
        Assert.Equal(4, gmsa.Config.DecoderLoraRank);
    }

    [Fact]
    public void Run_FullContextReference_FinetunesTheDecoderReadingTheTextWithoutAStage1Folder()
    {
        using var dir = new TempDir();
        string tokens = Path.Combine(dir.Path, "tokens"), qa = Path.Combine(dir.Path, "qa");
        WriteTokens(tokens);
        // One context longer than the 1,024-token window: the reference reads its head, as the full-context decoder does.
        string longContext = string.Join(" ", Enumerable.Repeat("The capital of Land9 is City9, a port by the sea with many ships.", 120));
        var items = Enumerable.Range(0, 6).Select(i => new QaItem(i == 5 ? longContext : $"The capital of Land{i} is City{i}. It lies by the sea.",
            $" Question: What is the capital of Land{i}? Answer:", [$"City{i}"])).ToList();
        WriteQa(qa, items);
        var recipe = Recipe(CompressorStage.Finetune) with
        {
            Compressor = Recipe(CompressorStage.Finetune).Compressor with { Method = CompressionMethod.None, Alignment = AlignmentKind.None, Rates = [1] },
        };
        var paths = new CompressorPaths(ModelDir, [qa], Path.Combine(dir.Path, "full"), Tokens: tokens);

        var result = CompressorTrainingRun.Run(recipe, paths, resume: false);

        Assert.True(result.Completed);
        Assert.All(result.StepLosses, loss => Assert.True(double.IsFinite(loss)));
        using var reference = GmsaModel.Load(ModelDir, paths.Final);
        Assert.Equal(CompressionMethod.None, reference.Config.Method);
        Assert.True(reference.HasDecoderAdapters);
        Assert.Throws<ArgumentException>(() => CompressorTrainingRun.Run(recipe, paths with { Run = Path.Combine(dir.Path, "again"), InitFrom = paths.Final }, resume: false));
    }

    [Fact]
    public void Run_ActivationCheckpointingWithDropout_SameLossesAsWithout()
    {
        // Encoder, LSA and decoder blocks recomputed in backward, LoRA dropout replayed: the same optimisation, step by step.
        using var dir = new TempDir();
        string tokens = Path.Combine(dir.Path, "tokens");
        WriteTokens(tokens);
        var recipe = Recipe(CompressorStage.Autoencoder) with
        {
            Compressor = Recipe(CompressorStage.Autoencoder).Compressor with { LoraDropout = 0.1 },
            DecoderTraining = DecoderTraining.Lora,
            Dtype = "float32",
        };
        long before = Gmsa.Engine.Model.ActivationCheckpoint.Recomputed;
        var plain = CompressorTrainingRun.Run(recipe, new CompressorPaths(ModelDir, [tokens], Path.Combine(dir.Path, "plain")), resume: false);
        Assert.Equal(before, Gmsa.Engine.Model.ActivationCheckpoint.Recomputed);
        var recomputed = CompressorTrainingRun.Run(recipe with { Training = recipe.Training with { ActivationCheckpointing = true } },
            new CompressorPaths(ModelDir, [tokens], Path.Combine(dir.Path, "recomputed")), resume: false);

        Assert.True(Gmsa.Engine.Model.ActivationCheckpoint.Recomputed - before >= 3 * 14);   // 3 steps x (1 encoder + 1 LSA + 12 decoder blocks)
        Assert.Equal(plain.StepLosses.Count, recomputed.StepLosses.Count);
        for (int i = 0; i < plain.StepLosses.Count; i++) Assert.Equal(plain.StepLosses[i], recomputed.StepLosses[i], 1e-5);
        Assert.Equal(plain.ValidationLoss!.Value, recomputed.ValidationLoss!.Value, 1e-5);
    }

    [Fact]
    public void Resume_RunRecordWithoutFieldsAddedSince_CountsTheirDefaultsButRefusesAChangedValue()
    {
        using var dir = new TempDir();
        string tokens = Path.Combine(dir.Path, "tokens");
        WriteTokens(tokens);
        var ae = new CompressorPaths(ModelDir, [tokens], Path.Combine(dir.Path, "ae"));
        Assert.True(CompressorTrainingRun.Run(Recipe(CompressorStage.Autoencoder), ae, resume: false).Completed);

        // A run begun before a recipe field existed has no such field in run.json.
        var record = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(ae.RunFile))!;
        Assert.True(record["recipe"]!["training"]!.AsObject().Remove("epsilon"));
        File.WriteAllText(ae.RunFile, record.ToJsonString());
        CompressorTrainingRun.Run(Recipe(CompressorStage.Autoencoder), ae, resume: true);   // accepted: the default is the same

        record["recipe"]!["seed"] = 7;
        File.WriteAllText(ae.RunFile, record.ToJsonString());
        var e = Assert.Throws<InvalidOperationException>(() => CompressorTrainingRun.Run(Recipe(CompressorStage.Autoencoder), ae, resume: true));
        Assert.Contains("another recipe", e.Message);
    }

    [Theory]
    [InlineData("{\"init_from\": \"x\"}", "has no recipe")]
    [InlineData("{\"recipe\": 5}", "is not valid JSON")]
    [InlineData("{\"recipe\": {}, \"init_from\": 5}", "is not valid JSON")]
    public void ExportCheckpoint_RunJsonOfAnotherShape_InvalidDataExceptionNamingTheFile(string runJson, string expected)
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("run.json"), runJson);

        var error = Assert.Throws<InvalidDataException>(() => CompressorTrainingRun.ExportCheckpoint(dir.Path, ModelDir, dir.File("out")));

        Assert.Contains("run.json", error.Message);
        Assert.Contains(expected, error.Message);
    }
}
