using System.Text.Json;
using System.Text.Json.Nodes;
using Gmsa.Engine.Checkpoints;
using Gmsa.Engine.Corpus;
using Gmsa.Engine.Model;
using Gmsa.Engine.Text;
using static TorchSharp.torch;

namespace Gmsa.Engine.Training;

/// <summary>Where a pretraining run reads and writes: token files ({split}.bin), the tokenizer folder, the run folder.</summary>
public sealed record PretrainingPaths(string Data, string Tokenizer, string Run)
{
    public string RunFile => Path.Combine(Run, "run.json");
    /// <summary>The trained model as a Hugging Face folder (bf16 weights, config, tokenizer), written when the run completes.</summary>
    public string FinalModel => Path.Combine(Run, "final");
    public string Split(string name) => Path.Combine(Data, $"{name}.bin");
}

/// <summary>
/// `gmsa train lm` without the console: checks the recipe against the tokenizer and data, records
/// the run (run.json), builds and seeds the model, trains it with <see cref="Trainer"/> (resuming
/// when asked) and, once the last step is done, writes the final Hugging Face model folder.
/// </summary>
public static class PretrainingRun
{
    static readonly string[] TokenizerFiles = ["tokenizer.model", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"];

    public static TrainingResult Run(TrainingRecipe recipe, PretrainingPaths paths, bool resume,
        Action<TrainingProgress>? progress = null, CancellationToken cancellation = default)
    {
        recipe.Validate();
        var tokenizer = TextTokenizer.Load(paths.Tokenizer);
        var config = CheckAgainstTokenizer(recipe.Model, tokenizer);
        CorpusEncoder.RequireEncodedBy(paths.Data, paths.Tokenizer);
        var train = TokenFile.Read(paths.Split("train"), tokenizer.VocabSize);
        var validation = TokenFile.Read(paths.Split("validation"), tokenizer.VocabSize);
        RecordRun(recipe, paths, resume);

        var dtype = Devices.ParseDtype(recipe.Dtype);
        manual_seed(recipe.Seed);
        DropoutRandom.Seed(recipe.Seed);
        using var model = new CausalLM(config, dtype, CPU);
        model.InitializeWeights(recipe.Seed, scaleResidualProjections: true); // overwritten on resume
        if (recipe.InitFrom is { } initFrom) CopyWeights(initFrom, model);    // likewise
        ActivationCheckpoint.Enable(model, recipe.Training.ActivationCheckpointing);
        var objective = new LanguageModelObjective(model, train, validation, recipe.SequenceLength, recipe.MicroBatch, recipe.Seed,
            recipe.RepeatedPassages);
        var result = new Trainer(objective, recipe.Training, paths.Run).Run(resume, progress, cancellation);
        if (result.Completed) SaveFinalModel(model, paths);
        return result;
    }

    /// <summary>Continued pretraining: the run starts from a model folder's weights, which must have the recipe's architecture.</summary>
    static void CopyWeights(string folder, CausalLM model)
    {
        var config = ModelConfig.Load(Path.Combine(folder, "config.json"));
        // Same architecture: special ids come from the tokenizer and the storage dtype does not matter.
        var expected = model.Config with
        {
            BosTokenId = config.BosTokenId, EosTokenIds = config.EosTokenIds, PadTokenId = config.PadTokenId, TorchDtype = config.TorchDtype,
        };
        if (config.ToJson() != expected.ToJson())
            throw new InvalidDataException($"init_from {folder}: its config.json describes another architecture than the recipe's \"model\"");
        using var source = PretrainedModel.Load(folder, ScalarType.Float32, CPU);
        CopyParameters(source, model);
    }

    /// <summary>Every weight of <paramref name="from"/> into the same-named one of <paramref name="to"/>, cast to its dtype.</summary>
    static void CopyParameters(CausalLM from, CausalLM to)
    {
        using var noGrad = no_grad();
        var source = from.state_dict();
        foreach (var (name, p) in to.state_dict()) p.copy_(source[name]);
    }

    /// <summary>The tokenizer decides the special ids and bounds the vocabulary; a recipe that disagrees is refused.</summary>
    static ModelConfig CheckAgainstTokenizer(ModelConfig config, TextTokenizer tokenizer)
    {
        if (tokenizer.VocabSize > config.VocabSize)
            throw new InvalidDataException($"the tokenizer has {tokenizer.VocabSize} ids but the recipe's vocab_size is {config.VocabSize}");
        if (config.BosTokenId is { } bos && tokenizer.BosId != bos)
            throw new InvalidDataException($"the recipe's bos_token_id {bos} is not the tokenizer's ({tokenizer.BosId})");
        if (config.EosTokenIds.Count > 0 && tokenizer.EosId is { } eos && !config.EosTokenIds.Contains(eos))
            throw new InvalidDataException($"the recipe's eos_token_id does not include the tokenizer's ({eos})");
        return config with
        {
            BosTokenId = tokenizer.BosId,
            EosTokenIds = tokenizer.EosId is { } e ? [e] : config.EosTokenIds,
        };
    }

    /// <summary>
    /// run.json holds the recipe and the inputs. A resumed run must have the same recipe: a different
    /// schedule or data order would silently break the exact-resume guarantee.
    /// </summary>
    static void RecordRun(TrainingRecipe recipe, PretrainingPaths paths, bool resume)
    {
        Directory.CreateDirectory(paths.Run);
        var recipeNode = JsonNode.Parse(recipe.ToJson())!;
        if (File.Exists(paths.RunFile))
        {
            if (!resume)
                throw new InvalidOperationException($"{paths.Run} already holds a run: resume it (--resume) or choose another folder");
            var previous = Checkpoints.JsonFile.Read(paths.RunFile, json => JsonNode.Parse(json))?["recipe"];
            if (!JsonNode.DeepEquals(previous, recipeNode))
                throw new InvalidOperationException($"{paths.RunFile} was started with another recipe; resume needs the same one");
            return;
        }
        var run = new JsonObject
        {
            ["started_utc"] = DateTime.UtcNow.ToString("O"),
            ["data"] = Path.GetFullPath(paths.Data),
            ["tokenizer"] = Path.GetFullPath(paths.Tokenizer),
            ["command"] = string.Join(' ', Environment.GetCommandLineArgs().Skip(1)),
            ["recipe"] = recipeNode,
        };
        File.WriteAllText(paths.RunFile, run.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }

    /// <summary>Writes the trained weights in bfloat16 with the tokenizer beside them: a folder any LLaMA loader reads.</summary>
    static void SaveFinalModel(CausalLM model, PretrainingPaths paths)
    {
        using var bf16 = new CausalLM(model.Config, ScalarType.BFloat16, CPU);
        CopyParameters(model, bf16);
        PretrainedModel.Save(bf16, paths.FinalModel);
        foreach (var file in TokenizerFiles)
        {
            var from = Path.Combine(paths.Tokenizer, file);
            if (File.Exists(from)) File.Copy(from, Path.Combine(paths.FinalModel, file), overwrite: true);
        }
    }
}
