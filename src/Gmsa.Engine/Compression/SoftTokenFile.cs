using System.Globalization;
using Gmsa.Engine.Checkpoints;
using static TorchSharp.torch;

namespace Gmsa.Engine.Compression;

/// <summary>
/// Soft tokens as a safetensors file: one tensor <c>soft_tokens</c> [n, D] in the decoder's dtype, with the
/// rate, the context's token count and the base model in the metadata, so a context compressed once can be
/// asked about later (`gmsa compress`, then `gmsa answer --soft FILE`).
/// </summary>
public static class SoftTokenFile
{
    public const string TensorName = "soft_tokens";

    public static void Save(string path, SoftTokens soft, string baseModel) =>
        SafeTensors.Save(path, [KeyValuePair.Create(TensorName, soft.Embeddings)], new Dictionary<string, string>
        {
            ["rate"] = soft.Rate.ToString(CultureInfo.InvariantCulture),
            ["context_tokens"] = soft.ContextTokens.ToString(CultureInfo.InvariantCulture),
            ["base_model"] = baseModel,
        });

    /// <summary>Reads the file onto <paramref name="device"/>; its hidden size and base model must be the expected ones.</summary>
    public static SoftTokens Load(string path, string baseModel, int hiddenSize, Device device)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path} does not exist", path);
        var metadata = SafeTensors.ReadMetadata(path);
        if (!metadata.TryGetValue("base_model", out var model) || model != baseModel)
            throw new InvalidDataException($"{path} holds soft tokens of '{model ?? "an unknown model"}', not of '{baseModel}'");
        var tensors = SafeTensors.Load(path);
        if (!tensors.TryGetValue(TensorName, out var soft) || soft.dim() != 2 || soft.shape[1] != hiddenSize)
            throw new InvalidDataException($"{path} has no {TensorName} tensor of shape [n, {hiddenSize}]");
        int Int(string key) => metadata.TryGetValue(key, out var v) && int.TryParse(v, CultureInfo.InvariantCulture, out int i) ? i
            : throw new InvalidDataException($"{path} lacks the '{key}' metadata");
        return new SoftTokens(soft.to(device), Int("context_tokens"), Int("rate"));
    }
}
