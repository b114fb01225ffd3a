using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Gmsa.Engine.Checkpoints;
using Gmsa.Engine.Training;

namespace Gmsa.Engine.Compression;

[JsonConverter(typeof(JsonStringEnumConverter<CompressorStage>))]
public enum CompressorStage
{
    /// <summary>Stage 1: restate the context from its soft tokens.</summary>
    [JsonStringEnumMemberName("autoencoder")] Autoencoder,
    /// <summary>Stage 2: answer questions from soft tokens; the compressor is frozen.</summary>
    [JsonStringEnumMemberName("finetune")] Finetune,
}

/// <summary>Context lengths of stage 1's examples, cut from the token files.</summary>
public sealed record ContextLengths(int MinTokens = 64, int MaxTokens = 256);

/// <summary>
/// One GMSA training run in one JSON file (`gmsa train ae|finetune --recipe FILE`): the compressor's shape
/// ("compressor", gmsa_config.json's fields), the stage, which decoder parts learn, the data settings and the
/// optimisation ("training", as for pretraining).
/// </summary>
public sealed record CompressorRecipe
{
    static readonly JsonSerializerOptions Json = new(CompressorConfig.Json) { UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow };

    public CompressorStage Stage { get; init; } = CompressorStage.Autoencoder;
    public required CompressorConfig Compressor { get; init; }
    public DecoderTraining DecoderTraining { get; init; } = DecoderTraining.Frozen;
    public ContextLengths Context { get; init; } = new();
    /// <summary>
    /// Stage 2 only: autoencoding examples added to the task examples, as a share of their count, so the decoder's
    /// adapters keep restating contexts while they learn to answer (one adapter serves answer and reconstruct).
    /// </summary>
    public double AutoencoderShare { get; init; }
    /// <summary>Held-out examples in each validation pass.</summary>
    public int ValidationExamples { get; init; } = 64;
    public required TrainingOptions Training { get; init; }
    public int MicroBatch { get; init; } = 8;
    public long Seed { get; init; } = 1337;
    public string Dtype { get; init; } = "bfloat16";

    public static CompressorRecipe Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"recipe {path} does not exist", path);
        return JsonFile.Read(path, Parse);
    }

    public static CompressorRecipe Parse(string json)
    {
        var recipe = JsonSerializer.Deserialize<CompressorRecipe>(json, Json) ?? throw new InvalidDataException("the recipe is empty");
        recipe.Validate();
        return recipe;
    }

    public void Validate()
    {
        Training.Validate();
        if (MicroBatch < 1) throw new InvalidDataException($"micro_batch must be at least 1, got {MicroBatch}");
        if (ValidationExamples < 1) throw new InvalidDataException($"validation_examples must be at least 1, got {ValidationExamples}");
        if (Dtype is not ("bfloat16" or "float32")) throw new InvalidDataException($"dtype '{Dtype}' is not a training dtype (bfloat16, float32)");
        if (Context.MinTokens < 1 || Context.MaxTokens < Context.MinTokens || Context.MaxTokens > Compressor.SegmentLength)
            throw new InvalidDataException($"context lengths must satisfy 1 <= min_tokens <= max_tokens <= segment_length ({Compressor.SegmentLength})");
        if (AutoencoderShare < 0 || (AutoencoderShare > 0 && Stage != CompressorStage.Finetune))
            throw new InvalidDataException("autoencoder_share is a non-negative share of stage 2's examples");
        if (Stage == CompressorStage.Finetune && DecoderTraining == DecoderTraining.Frozen)
            throw new InvalidDataException("fine-tuning trains the decoder: decoder_training must be lora, qkv or full");
        if (DecoderTraining == DecoderTraining.Lora && Compressor.DecoderLoraRank < 1)
            throw new InvalidDataException("decoder_training 'lora' needs compressor.decoder_lora_rank >= 1");
    }

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    public JsonNode ToNode() => JsonNode.Parse(ToJson())!;
}
