using System.Text.Json;
using System.Text.Json.Nodes;
using Gmsa.Engine.Checkpoints;
using Gmsa.Engine.Model;

namespace Gmsa.Engine.Training;

/// <summary>
/// Everything that defines a pretraining run, in one JSON file so that the exact command is
/// `gmsa train lm --recipe FILE`: the model's config.json fields ("model"), the optimisation recipe
/// ("training", <see cref="TrainingOptions"/> in snake_case), and the data settings.
/// </summary>
public sealed record TrainingRecipe
{
    static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow,
        WriteIndented = true,
    };

    public required ModelConfig Model { get; init; }
    public required TrainingOptions Training { get; init; }
    /// <summary>Tokens per training window (the context the model learns to use).</summary>
    public int SequenceLength { get; init; } = 1024;
    /// <summary>Windows per micro-batch; tokens per optimizer step = this x sequence length x accumulation.</summary>
    public int MicroBatch { get; init; } = 8;
    /// <summary>Seeds the weight initialisation and the data order.</summary>
    public long Seed { get; init; } = 1337;
    /// <summary>The dtype the model computes in ("bfloat16" or "float32"); master weights are float32 either way.</summary>
    public string Dtype { get; init; } = "bfloat16";
    /// <summary>
    /// A model folder whose weights start the run instead of a random initialisation (continued
    /// pretraining; the optimizer starts fresh). Its config must be the recipe's "model".
    /// </summary>
    public string? InitFrom { get; init; }
    /// <summary>Copy-heavy data: a share of the training windows rewritten as repeated passages.</summary>
    public RepeatedPassages? RepeatedPassages { get; init; }

    public long TokensPerStep => (long)SequenceLength * MicroBatch * Training.GradientAccumulation;

    public static TrainingRecipe Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"recipe {path} does not exist", path);
        return JsonFile.Read(path, Parse);
    }

    public static TrainingRecipe Parse(string json)
    {
        var root = JsonNode.Parse(json)?.AsObject() ?? throw new InvalidDataException("a recipe must be a JSON object");
        var model = root["model"] as JsonObject ?? throw new InvalidDataException("the recipe lacks a \"model\" object (config.json fields)");
        var training = root["training"] as JsonObject ?? throw new InvalidDataException("the recipe lacks a \"training\" object");
        foreach (var (key, _) in root)
            if (key is not ("model" or "training" or "sequence_length" or "micro_batch" or "seed" or "dtype" or "init_from" or "repeated_passages"))
                throw new InvalidDataException($"the recipe has an unknown field \"{key}\"");
        var recipe = new TrainingRecipe
        {
            Model = ModelConfig.Parse(model.ToJsonString()),
            Training = training.Deserialize<TrainingOptions>(Json) ?? throw new InvalidDataException("\"training\" is empty"),
            SequenceLength = (int?)root["sequence_length"]?.GetValue<double>() ?? 1024,
            MicroBatch = (int?)root["micro_batch"]?.GetValue<double>() ?? 8,
            Seed = (long?)root["seed"]?.GetValue<double>() ?? 1337,
            Dtype = root["dtype"]?.GetValue<string>() ?? "bfloat16",
            InitFrom = root["init_from"]?.GetValue<string>(),
            RepeatedPassages = root["repeated_passages"]?.Deserialize<RepeatedPassages>(Json),
        };
        recipe.Validate();
        return recipe;
    }

    public void Validate()
    {
        Training.Validate();
        if (SequenceLength < 2 || SequenceLength > Model.MaxPositionEmbeddings)
            throw new InvalidDataException($"sequence_length {SequenceLength} must lie in 2..max_position_embeddings ({Model.MaxPositionEmbeddings})");
        if (MicroBatch < 1) throw new InvalidDataException($"micro_batch must be at least 1, got {MicroBatch}");
        if (Dtype is not ("bfloat16" or "float32")) throw new InvalidDataException($"dtype '{Dtype}' is not a training dtype (bfloat16, float32)");
        if (InitFrom is "") throw new InvalidDataException("init_from must name a model folder");
        RepeatedPassages?.Validate();
    }

    /// <summary>The recipe as it ran, for the run folder and the model card.</summary>
    public string ToJson()
    {
        var root = new JsonObject
        {
            ["model"] = JsonNode.Parse(Model.ToJson()),
            ["training"] = JsonSerializer.SerializeToNode(Training, Json),
            ["sequence_length"] = SequenceLength,
            ["micro_batch"] = MicroBatch,
            ["seed"] = Seed,
            ["dtype"] = Dtype,
        };
        if (InitFrom is not null) root["init_from"] = InitFrom;
        if (RepeatedPassages is not null) root["repeated_passages"] = JsonSerializer.SerializeToNode(RepeatedPassages, Json);
        return root.ToJsonString(Json);
    }
}
