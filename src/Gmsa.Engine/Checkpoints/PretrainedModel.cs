using Gmsa.Engine.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace Gmsa.Engine.Checkpoints;

/// <summary>
/// Loads and saves a Hugging Face model folder: config.json, generation_config.json (optional),
/// model.safetensors or a sharded index. Tokenizer files are read by <see cref="Text.TextTokenizer"/>.
/// </summary>
public static class PretrainedModel
{
    /// <summary>
    /// Builds the model from config.json and copies the checkpoint into it. Without an explicit dtype,
    /// the checkpoint's own is used, except float16 on CPU which becomes bfloat16 (CPU fp16 matmul is unusably slow).
    /// </summary>
    public static CausalLM Load(string directory, ScalarType? dtype = null, Device? device = null)
    {
        var configPath = Path.Combine(directory, "config.json");
        if (!File.Exists(configPath))
            throw new FileNotFoundException($"{directory} is not a model folder: config.json is missing", configPath);
        var config = ModelConfig.Load(configPath);
        device ??= Devices.Default();
        var chosen = dtype ?? DefaultDtype(config.TorchDtype, device);

        var model = new CausalLM(config, chosen, device); // outside the scope: the model outlives this call
        try
        {
            using var scope = NewDisposeScope();
            var weights = ShardedCheckpoint.LoadFolder(directory);
            var expected = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.shape);
            // Tied checkpoints sometimes still store lm_head.weight (a copy of the embeddings): accepted, unused.
            var optional = config.TieWordEmbeddings ? new HashSet<string> { "lm_head.weight" } : null;
            StateDictCheck.Verify(directory, expected, weights.ToDictionary(kv => kv.Key, kv => kv.Value.shape), optional);
            using var noGrad = no_grad();
            foreach (var (name, parameter) in model.state_dict())
            {
                parameter.copy_(weights[name]);
                weights[name].Dispose(); // keep peak memory near one model, not two
            }
        }
        catch
        {
            model.Dispose();
            throw;
        }
        model.eval();
        return model;
    }

    /// <summary>Writes config.json, generation_config.json and the weights (sharded past maxShardBytes).</summary>
    public static void Save(CausalLM model, string directory, long maxShardBytes = 5L << 30)
    {
        Directory.CreateDirectory(directory);
        var config = model.Config with { TorchDtype = Devices.DtypeName(model.DType) };
        File.WriteAllText(Path.Combine(directory, "config.json"), config.ToJson());
        File.WriteAllText(Path.Combine(directory, "generation_config.json"), GenerationConfig.FromModel(config).ToJson());
        ShardedCheckpoint.SaveFolder(directory, model.state_dict(), maxShardBytes);
    }

    static ScalarType DefaultDtype(string torchDtype, Device device) => torchDtype switch
    {
        "bfloat16" => ScalarType.BFloat16,
        "float16" => device.type == DeviceType.CPU ? ScalarType.BFloat16 : ScalarType.Float16,
        _ => ScalarType.Float32,
    };
}
