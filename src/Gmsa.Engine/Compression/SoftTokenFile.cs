using System.Globalization;
using Gmsa.Engine.Checkpoints;
using static TorchSharp.torch;

namespace Gmsa.Engine.Compression;

/// <summary>
/// Soft tokens as a safetensors file: one tensor <c>soft_tokens</c> [n, D] in the decoder's dtype, with the
/// rate, the context's token count and the base model in the metadata, so a context compressed once can be
/// asked about later (`gmsa compress`, then `gmsa answer --soft FILE`). The service's `/v1/compress` files hold
/// several contexts, <c>soft_tokens.{i}</c> with <c>context_tokens.{i}</c>; they read back as those contexts in order.
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

    /// <summary>
    /// Reads the file's contexts onto <paramref name="device"/>, in order; their hidden size and base model must be the
    /// expected ones. The caller owns the tensors.
    /// </summary>
    public static SoftTokens[] Load(string path, string baseModel, int hiddenSize, Device device)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path} does not exist", path);
        var header = SafeTensors.ParseHeader(path);   // read once: the metadata is checked before any tensor is read
        var metadata = header.Metadata;
        if (!metadata.TryGetValue("base_model", out var model) || model != baseModel)
            throw new InvalidDataException($"{path} holds soft tokens of '{model ?? "an unknown model"}', not of '{baseModel}'");
        int Int(string key) => metadata.TryGetValue(key, out var v) && int.TryParse(v, CultureInfo.InvariantCulture, out int i) ? i
            : throw new InvalidDataException($"{path} lacks the '{key}' metadata");
        int rate = Int("rate");
        using var scope = NewDisposeScope();
        var tensors = SafeTensors.Load(path, header);
        string[] names = tensors.ContainsKey(TensorName) ? [TensorName]
            : Enumerable.Range(0, tensors.Count).Select(i => $"{TensorName}.{i}").TakeWhile(tensors.ContainsKey).ToArray();
        if (names.Length == 0 || names.Length != tensors.Count)
            throw new InvalidDataException($"{path} holds neither one {TensorName} tensor nor {TensorName}.0, .1, ... alone");
        var contexts = names.Select(name =>
        {
            var soft = tensors[name];
            if (soft.dim() != 2 || soft.shape[1] != hiddenSize)
                throw new InvalidDataException($"{path}: {name} has shape [{string.Join(", ", soft.shape)}], not [n, {hiddenSize}]");
            return (soft, tokens: Int(name == TensorName ? "context_tokens" : $"context_tokens{name[TensorName.Length..]}"));
        }).ToArray();   // all checked before any tensor leaves the scope
        return contexts.Select(c => new SoftTokens(c.soft.to(device).MoveToOuterDisposeScope(), c.tokens, rate)).ToArray();
    }
}
