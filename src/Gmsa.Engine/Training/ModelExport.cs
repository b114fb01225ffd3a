using System.Text.Json.Nodes;
using Gmsa.Engine.Checkpoints;
using Gmsa.Engine.Generation;
using Gmsa.Engine.Text;
using static TorchSharp.torch;

namespace Gmsa.Engine.Training;

/// <summary>
/// Turns a finished pretraining run into a shippable model folder: copies the final weights and
/// tokenizer, measures perplexity on the full validation and test splits, generates samples, and
/// gathers everything the model card states.
/// </summary>
public static class ModelExport
{
    public static readonly IReadOnlyList<string> SamplePrompts =
    [
        "It was a cold morning in",
        "The history of the country",
        "And God said unto",
        "Elizabeth looked at her sister and",
        "The ship sailed",
    ];

    public static ModelCard Export(string runDirectory, string outDirectory, IReadOnlyList<string> commands, string? dataCardPath = null,
        int sampleTokens = 60, string? recipePath = null)
    {
        var paths = new PretrainingPaths(Data: "", Tokenizer: "", Run: runDirectory);
        var run = ReadRunFile(paths.RunFile); // first: a folder that is no run at all is not an unfinished run
        if (!Directory.Exists(paths.FinalModel))
            throw new DirectoryNotFoundException($"{paths.FinalModel} does not exist: the run has not completed (gmsa train lm --resume finishes it)");
        var recipe = RecipeOf(run, paths.RunFile);
        string data = run["data"]?.GetValue<string>() ?? throw new InvalidDataException($"{paths.RunFile} lacks \"data\"");
        var checkpoint = TrainingCheckpoint.Latest(Path.Combine(runDirectory, "checkpoints"))
            ?? throw new InvalidDataException($"{runDirectory} has no checkpoint to read the final state from");

        // Read before the copy below: a continued model may be exported over the folder it started from.
        string? baseTraining = recipe.InitFrom is null ? null : BaseTrainingRow(recipe.InitFrom);
        Directory.CreateDirectory(outDirectory);
        foreach (var file in Directory.GetFiles(paths.FinalModel))
            File.Copy(file, Path.Combine(outDirectory, Path.GetFileName(file)), overwrite: true);
        // The tokenizer was trained before the model existed; in the shipped folder its length limit is the model's context.
        TokenizerConfig.SetModelMaxLength(outDirectory, recipe.Model.MaxPositionEmbeddings);

        using var lm = LanguageModel.Load(outDirectory, CPU);
        var vocab = lm.Tokenizer.VocabSize;
        var validation = TokenFile.Read(Path.Combine(data, "validation.bin"), vocab);
        var test = TokenFile.Read(Path.Combine(data, "test.bin"), vocab);
        long trainTokens = new FileInfo(Path.Combine(data, "train.bin")).Length / sizeof(ushort);
        // Perplexity over the model's whole context, so models trained on shorter windows are compared on equal terms.
        int window = recipe.Model.MaxPositionEmbeddings;
        double Loss(TokenStream s) => lm.Runner.Run(() => LanguageModelObjective.MeanLoss(lm.Model, s, window, recipe.MicroBatch));

        return new ModelCard
        {
            Name = Path.GetFileName(Path.GetFullPath(outDirectory).TrimEnd('/')),
            Recipe = recipe,
            Parameters = lm.Model.ParameterCount(),
            WeightBytes = new FileInfo(Path.Combine(outDirectory, ShardedCheckpoint.SingleFile)).Length,
            FinalState = TrainingCheckpoint.ReadState(checkpoint),
            ValidationLoss = Loss(validation),
            ValidationTokens = (validation.Count - 1) / window * window,
            TestLoss = Loss(test),
            TestTokens = (test.Count - 1) / window * window,
            PerplexityWindow = window,
            RecipePath = recipePath,
            BaseTraining = baseTraining,
            TrainTokens = trainTokens,
            Commands = commands,
            Samples = Samples(lm, sampleTokens),
            DataCard = dataCardPath is not null && File.Exists(dataCardPath) ? File.ReadAllText(dataCardPath) : null,
        };
    }

    /// <summary>The recipe a run folder ran with, as its run.json records it.</summary>
    public static TrainingRecipe RunRecipe(string runDirectory)
    {
        var runFile = new PretrainingPaths(Data: "", Tokenizer: "", Run: runDirectory).RunFile;
        return RecipeOf(ReadRunFile(runFile), runFile);
    }

    static JsonObject ReadRunFile(string runFile)
    {
        // Named as a run folder's problem: the OS would say "Could not find a part of the path .../run.json".
        string run = Path.GetDirectoryName(runFile) ?? ".";
        if (!File.Exists(runFile))
            throw Directory.Exists(run)
                ? new FileNotFoundException($"'{run}' is not a run folder: run.json is missing (gmsa train lm --out writes one)", runFile)
                : new DirectoryNotFoundException($"run folder '{run}' does not exist");
        return Checkpoints.JsonFile.Read(runFile, json => JsonNode.Parse(json)?.AsObject()) ?? throw new InvalidDataException($"{runFile} is not a JSON object");
    }

    static TrainingRecipe RecipeOf(JsonObject run, string runFile) =>
        TrainingRecipe.Parse((run["recipe"] ?? throw new InvalidDataException($"{runFile} lacks \"recipe\"")).ToJsonString());

    /// <summary>The "training" row of a model folder's card (README.md), or null when it has none.</summary>
    public static string? BaseTrainingRow(string modelDirectory)
    {
        var card = Path.Combine(modelDirectory, "README.md");
        if (!File.Exists(card)) return null;
        const string prefix = "| training | ";
        var row = File.ReadLines(card).FirstOrDefault(l => l.StartsWith(prefix));
        return row?[prefix.Length..].TrimEnd(' ', '|');
    }

    /// <summary>
    /// Each prompt greedily (repetition penalty 1.3, as GMSA's official decoding; one batch) and sampled (T 0.8, top-p
    /// 0.95, seed 1; each prompt alone, as `gmsa generate --seed 1` and the service draw it: a batch shares one generator,
    /// so its rows' draws would depend on the prompts beside them).
    /// </summary>
    public static List<CardSample> Samples(LanguageModel lm, int tokens)
    {
        var greedy = new SamplingOptions { MaxNewTokens = tokens, RepetitionPenalty = 1.3 };
        var sampled = new SamplingOptions { MaxNewTokens = tokens, Temperature = 0.8, TopP = 0.95, Seed = 1 };
        var batch = lm.CompleteAsync(SamplePrompts, greedy).GetAwaiter().GetResult();
        var result = SamplePrompts.Select((p, i) => new CardSample(p, "greedy, repetition penalty 1.3", batch.Texts[i])).ToList();
        foreach (var p in SamplePrompts)
            result.Add(new CardSample(p, "sampled, temperature 0.8, top-p 0.95, seed 1", lm.CompleteAsync([p], sampled).GetAwaiter().GetResult().Texts[0]));
        return result;
    }
}
