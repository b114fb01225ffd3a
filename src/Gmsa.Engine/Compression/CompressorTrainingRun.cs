using System.Text.Json;
using System.Text.Json.Nodes;
using Gmsa.Engine.Checkpoints;
using Gmsa.Engine.Corpus;
using Gmsa.Engine.Model;
using Gmsa.Engine.Text;
using Gmsa.Engine.Training;
using static TorchSharp.torch;

namespace Gmsa.Engine.Compression;

/// <summary>
/// Where a GMSA run reads and writes: the base model folder, the data (one folder of token files for stage 1;
/// for stage 2 folders of QA JSONL, train.jsonl and optionally validation.jsonl each, plus the token files when
/// autoencoding examples are mixed in), the stage-1 compressor that stage 2 starts from, and the run folder.
/// </summary>
public sealed record CompressorPaths(string Model, IReadOnlyList<string> Data, string Run, string? InitFrom = null, string? Tokens = null)
{
    public string RunFile => Path.Combine(Run, "run.json");
    /// <summary>The trained compressor folder (<see cref="CompressorFolder"/>), written when the run completes.</summary>
    public string Final => Path.Combine(Run, "final");
}

/// <summary>
/// `gmsa train ae | finetune` without the console: records the run (paths relative to the run folder, so a
/// run copied elsewhere with its inputs beside it still resumes), builds decoder and compressor, trains with
/// <see cref="Trainer"/> (exact resume), and writes the final compressor folder.
/// </summary>
public static class CompressorTrainingRun
{
    public static TrainingResult Run(CompressorRecipe recipe, CompressorPaths paths, bool resume,
        Action<TrainingProgress>? progress = null, CancellationToken cancellation = default, Device? device = null)
    {
        recipe.Validate();
        bool reference = recipe.Compressor.Method == CompressionMethod.None;   // the full-context fine-tune: no stage 1 to start from
        if (recipe.Stage == CompressorStage.Finetune && paths.InitFrom is null && !reference)
            throw new ArgumentException("fine-tuning starts from a stage-1 compressor: give its folder (--compressor)");
        if (reference && (recipe.Stage != CompressorStage.Finetune || paths.InitFrom is not null))
            throw new ArgumentException("method 'none' is the full-context reference: a fine-tuning run without --compressor");
        var tokenizer = TextTokenizer.Load(paths.Model);
        int eos = tokenizer.EosId ?? throw new InvalidDataException($"{paths.Model}'s tokenizer has no EOS token");
        manual_seed(recipe.Seed);
        DropoutRandom.Seed(recipe.Seed);
        using var decoder = PretrainedModel.Load(paths.Model, Devices.ParseDtype(recipe.Dtype), device ?? CPU);
        using var compressor = Build(recipe, decoder, paths.Model, paths.InitFrom);
        var (train, validation) = recipe.Stage == CompressorStage.Autoencoder
            ? AutoencoderData(recipe, Single(paths.Data), paths.Model, tokenizer, compressor.Config.AutoencoderPrompt, eos)
            : TaskData(recipe, paths, tokenizer, compressor.Config.AutoencoderPrompt, eos);
        RecordRun(recipe, paths, resume);   // after the checks of Build and of the data, so a refused run leaves no folder behind
        ActivationCheckpoint.Enable(decoder, recipe.Training.ActivationCheckpointing);      // the decoder's blocks
        ActivationCheckpoint.Enable(compressor, recipe.Training.ActivationCheckpointing);   // the encoder's and LSA's
        var objective = new CompressionObjective(compressor, decoder, train, validation,
            trainCompressor: recipe.Stage == CompressorStage.Autoencoder, recipe.DecoderTraining, recipe.MicroBatch, recipe.Seed);
        var options = recipe.Training with { EvalWindows = recipe.ValidationExamples };
        var result = new Trainer(objective, options, paths.Run).Run(resume, progress, cancellation);
        if (result.Completed)
        {
            var changed = recipe.DecoderTraining is DecoderTraining.Qkv or DecoderTraining.Full
                ? objective.Trainable.Where(p => p.Name.StartsWith("decoder.")).Select(p => p.Name["decoder.".Length..]).ToArray()
                : null;
            CompressorFolder.Save(paths.Final, compressor, decoder, changed);
            KeepRestateAdapter(recipe, paths.InitFrom, paths.Final);
            File.Copy(Path.Combine(paths.Run, "metrics.csv"), Path.Combine(paths.Final, MetricsFile(recipe.Stage)), overwrite: true);
        }
        return result;
    }

    /// <summary>
    /// Stage 2 with decoder adapters keeps a restate adapter beside the one it trains: the starting folder's, or, when
    /// it trains no restating (<c>autoencoder_share</c> 0), the starting folder's decoder adapter, which restated. Stage 1
    /// changes the soft tokens and qkv / full change the decoder under any adapter, so those keep none.
    /// </summary>
    static void KeepRestateAdapter(CompressorRecipe recipe, string? initFrom, string folder)
    {
        if (recipe.Stage != CompressorStage.Finetune || recipe.DecoderTraining != DecoderTraining.Lora || initFrom is null) return;
        CompressorFolder.KeepRestateAdapter(initFrom, folder, answersOnly: recipe.AutoencoderShare == 0);
    }

    /// <summary>
    /// The compressor a run trains, on <paramref name="decoder"/>: stage 1 builds a fresh one from the backbone, or
    /// continues a compressor folder of the same shape; stage 2 loads the stage-1 folder. A loaded folder brings weights
    /// only (the optimizer and schedule start fresh), takes the recipe's rates and, when its decoder had no adapters,
    /// the recipe's decoder adapter shape; adapters it has are trained on only where the recipe asks the same shape (a
    /// different rank would otherwise be ignored without a word). Decoder adapters are added when trained.
    /// </summary>
    static ContextCompressor Build(CompressorRecipe recipe, CausalLM decoder, string model, string? initFrom)
    {
        var config = recipe.Compressor with { BaseModel = Path.GetFileName(Path.GetFullPath(model).TrimEnd('/')) };
        bool fresh = config.Method == CompressionMethod.None || (recipe.Stage == CompressorStage.Autoencoder && initFrom is null);
        var compressor = fresh
            ? ContextCompressor.FromBackbone(decoder, config, recipe.Seed)
            : CompressorFolder.Load(initFrom ?? throw new ArgumentException("fine-tuning starts from a stage-1 compressor folder"), decoder);
        if (recipe.Stage == CompressorStage.Autoencoder && initFrom is not null) RequireSameShape(compressor.Config, config, initFrom);
        if (!fresh)
        {
            bool had = compressor.Config.DecoderLoraRank > 0;
            if (had && recipe.DecoderTraining == DecoderTraining.Lora
                && (compressor.Config.DecoderLoraRank != config.DecoderLoraRank || compressor.Config.DecoderLoraAlpha != config.DecoderLoraAlpha))
                throw new ArgumentException(
                    $"the compressor in {initFrom} has decoder adapters of rank {compressor.Config.DecoderLoraRank} and alpha {compressor.Config.DecoderLoraAlpha}, " +
                    $"which this run would go on training; the recipe asks rank {config.DecoderLoraRank} and alpha {config.DecoderLoraAlpha}: " +
                    "set decoder_lora_rank and decoder_lora_alpha to the folder's");
            compressor.Config = compressor.Config with
            {
                Rates = config.Rates,
                DecoderLoraRank = had ? compressor.Config.DecoderLoraRank : config.DecoderLoraRank,
                DecoderLoraAlpha = had ? compressor.Config.DecoderLoraAlpha : config.DecoderLoraAlpha,
            };
        }
        if (recipe.DecoderTraining == DecoderTraining.Lora && !Lora.AdapterParameters(decoder).Any())
            Lora.AddAdapters(decoder, compressor.Config.DecoderLora!, recipe.Seed + 1, Lora.InDecoderBlocks);
        return compressor;
    }

    /// <summary>Stage 1 continues a compressor only where the recipe would build the same parts; otherwise it says which differs.</summary>
    static void RequireSameShape(CompressorConfig folder, CompressorConfig recipe, string initFrom)
    {
        var differences = new (string Name, object Folder, object Recipe)[]
        {
            ("method", folder.Method, recipe.Method), ("alignment", folder.Alignment, recipe.Alignment),
            ("encoder_layers", folder.EncoderLayers, recipe.EncoderLayers), ("alignment_layers", folder.AlignmentLayers, recipe.AlignmentLayers),
            ("lora_rank", folder.LoraRank, recipe.LoraRank), ("lora_alpha", folder.LoraAlpha, recipe.LoraAlpha),
        }.Where(d => !Equals(d.Folder, d.Recipe)).Select(d => $"{d.Name} {d.Folder} (recipe: {d.Recipe})").ToArray();
        if (differences.Length > 0)
            throw new ArgumentException($"the compressor in {initFrom} differs from the recipe's: {string.Join(", ", differences)}");
    }

    /// <summary>
    /// Writes the compressor folder of a run's latest checkpoint, finished or not (a long run stopped early still
    /// yields a usable compressor): the recipe and inputs from run.json, the base model from <paramref name="model"/>,
    /// the trained weights from the checkpoint.
    /// </summary>
    public static string ExportCheckpoint(string run, string model, string output)
    {
        var runFile = Path.Combine(run, "run.json");
        if (!File.Exists(runFile)) throw new FileNotFoundException($"{run} is not a GMSA run folder: run.json is missing", runFile);
        var (recipe, initRelative) = JsonFile.Read(runFile, json =>
        {
            var record = JsonNode.Parse(json) ?? throw new InvalidDataException($"{runFile} is empty");
            var recipeNode = record["recipe"] ?? throw new InvalidDataException($"{runFile} has no recipe");
            return (CompressorRecipe.Parse(recipeNode.ToJsonString()), record["init_from"]?.GetValue<string>());
        });
        string? initFrom = initRelative is { } relative ? Path.Combine(run, relative) : null;
        var checkpoint = TrainingCheckpoint.Latest(Path.Combine(run, "checkpoints")) ?? throw new InvalidDataException($"{run} holds no checkpoint yet");
        using var decoder = PretrainedModel.Load(model, Devices.ParseDtype(recipe.Dtype), CPU);
        using var compressor = Build(recipe, decoder, model, initFrom);
        using (var scope = NewDisposeScope())
        {
            var weights = SafeTensors.Load(Path.Combine(checkpoint, TrainingCheckpoint.WeightsFile));
            Dictionary<string, Tensor> Part(string prefix) =>
                weights.Where(kv => kv.Key.StartsWith(prefix)).ToDictionary(kv => kv.Key[prefix.Length..], kv => kv.Value);
            var (compressorPart, decoderPart) = (Part("compressor."), Part("decoder."));
            if (compressorPart.Count + decoderPart.Count != weights.Count) throw new InvalidDataException($"{checkpoint} holds weights of neither the compressor nor the decoder");
            SubsetLoad.CopyAll(checkpoint, compressor, compressorPart, key => compressorPart.ContainsKey(key) ? key : null);
            SubsetLoad.CopyAll(checkpoint, decoder, decoderPart, key => decoderPart.ContainsKey(key) ? key : null);
        }
        var changed = recipe.DecoderTraining is DecoderTraining.Qkv or DecoderTraining.Full
            ? DecoderParts.Select(decoder, recipe.DecoderTraining).Select(p => p.Name).ToArray() : null;
        CompressorFolder.Save(output, compressor, decoder, changed);
        KeepRestateAdapter(recipe, initFrom, output);
        File.Copy(Path.Combine(run, "metrics.csv"), Path.Combine(output, MetricsFile(recipe.Stage)), overwrite: true);
        return checkpoint;
    }

    static string MetricsFile(CompressorStage stage) => $"metrics_{stage.ToString().ToLowerInvariant()}.csv";

    static string Single(IReadOnlyList<string> folders) =>
        folders.Count == 1 ? folders[0] : throw new ArgumentException("stage 1 reads one folder of token files");

    /// <summary>Stage 2: every folder's train.jsonl (and validation.jsonl where present), plus the autoencoding share.</summary>
    static (IExampleSet Train, IExampleSet Validation) TaskData(CompressorRecipe recipe, CompressorPaths paths, TextTokenizer tokenizer, string prompt, int eos)
    {
        var train = paths.Data.SelectMany(d => QaJsonl.Examples(QaJsonl.Read(Path.Combine(d, "train.jsonl")), tokenizer)).ToList();
        var validation = paths.Data.Where(d => File.Exists(Path.Combine(d, "validation.jsonl")))
            .SelectMany(d => QaJsonl.Examples(QaJsonl.Read(Path.Combine(d, "validation.jsonl")), tokenizer)).ToList();
        if (validation.Count == 0) throw new FileNotFoundException("no validation.jsonl in any data folder: stage 2 needs held-out examples");
        if (recipe.AutoencoderShare > 0)
        {
            string tokens = paths.Tokens ?? throw new ArgumentException("autoencoder_share needs the token files (--tokens)");
            var (aeTrain, _) = AutoencoderData(recipe, tokens, paths.Model, tokenizer, prompt, eos);
            int extra = (int)Math.Min(aeTrain.Count, Math.Round(recipe.AutoencoderShare * train.Count));
            // Every k-th segment, so the mixed-in contexts spread over the whole corpus.
            train.AddRange(Enumerable.Range(0, extra).Select(i => aeTrain[(int)((long)i * aeTrain.Count / extra)]));
        }
        return (new ExampleList(train), new ExampleList(validation));
    }

    static (IExampleSet Train, IExampleSet Validation) AutoencoderData(CompressorRecipe recipe, string data, string model, TextTokenizer tokenizer, string prompt, int eos)
    {
        CorpusEncoder.RequireEncodedBy(data, model);
        int bos = tokenizer.BosId ?? -1;
        var (min, max) = (recipe.Context.MinTokens, recipe.Context.MaxTokens);
        var promptIds = tokenizer.Encode(prompt, addBos: false);
        var train = new ContextSegments(TokenFile.Read(Path.Combine(data, "train.bin"), tokenizer.VocabSize), bos, eos, min, max, recipe.Seed);
        var validation = new ContextSegments(TokenFile.Read(Path.Combine(data, "validation.bin"), tokenizer.VocabSize), bos, eos, min, max, recipe.Seed);
        return (new AutoencoderExamples(train, promptIds, eos), new AutoencoderExamples(validation, promptIds, eos));
    }

    /// <summary>run.json: the recipe and the inputs relative to the run folder; a resumed run must have the same recipe.</summary>
    static void RecordRun(CompressorRecipe recipe, CompressorPaths paths, bool resume)
    {
        Directory.CreateDirectory(paths.Run);
        var recipeNode = recipe.ToNode();
        if (File.Exists(paths.RunFile))
        {
            if (!resume) throw new InvalidOperationException($"{paths.Run} already holds a run: resume it (--resume) or choose another folder");
            // Compared after parsing, so fields added to recipes since the run began count at their defaults.
            var previous = JsonFile.Read(paths.RunFile, json => JsonNode.Parse(json))?["recipe"];
            var normalized = previous is null ? null : CompressorRecipe.Parse(previous.ToJsonString()).ToNode();
            if (!JsonNode.DeepEquals(normalized, recipeNode))
                throw new InvalidOperationException($"{paths.RunFile} was started with another recipe; resume needs the same one");
            return;
        }
        string Relative(string path) => Path.GetRelativePath(paths.Run, path);
        var run = new JsonObject
        {
            ["started_utc"] = DateTime.UtcNow.ToString("O"),
            ["model"] = Relative(paths.Model),
            ["data"] = new JsonArray(paths.Data.Select(d => (JsonNode)Relative(d)).ToArray()),
            ["tokens"] = paths.Tokens is null ? null : Relative(paths.Tokens),
            ["init_from"] = paths.InitFrom is null ? null : Relative(paths.InitFrom),
            ["recipe"] = recipeNode,
        };
        File.WriteAllText(paths.RunFile, run.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }
}
