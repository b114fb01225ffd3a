using Gmsa.Engine.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace Gmsa.Engine.Checkpoints;

/// <summary>
/// Copies part of a checkpoint into a module on purpose: GMSA's encoder is the backbone's first N layers and
/// its alignment stack a copy of the first k, so most source keys are deliberately left out. Every weight the
/// target expects must still be found with its shape, and a miss fails with every problem listed.
/// </summary>
public static class SubsetLoad
{
    /// <param name="sourceKey">maps a target key to the source key it is copied from (adapter keys are skipped)</param>
    public static void Copy(string source, nn.Module target, IReadOnlyDictionary<string, Tensor> weights, Func<string, string> sourceKey)
    {
        var expected = target.state_dict().Where(kv => !Lora.IsAdapterKey(kv.Key)).ToList();
        var missing = expected.Where(kv => !weights.ContainsKey(sourceKey(kv.Key))).Select(kv => sourceKey(kv.Key)).Order().ToList();
        var misShaped = expected.Where(kv => weights.TryGetValue(sourceKey(kv.Key), out var w) && !w.shape.SequenceEqual(kv.Value.shape))
            .Select(kv => $"{sourceKey(kv.Key)}: checkpoint [{string.Join(", ", weights[sourceKey(kv.Key)].shape)}], model [{string.Join(", ", kv.Value.shape)}]")
            .ToList();
        if (missing.Count + misShaped.Count > 0)
            throw new CheckpointMismatchException(
                $"{source} lacks what the model needs: {missing.Count} missing ({string.Join("; ", missing.Take(10))}), {misShaped.Count} wrong shape ({string.Join("; ", misShaped.Take(10))})",
                missing, [], misShaped);
        using var noGrad = no_grad();
        foreach (var (key, tensor) in expected) tensor.copy_(weights[sourceKey(key)]);
    }

    /// <summary>
    /// Copies into every target tensor whose key maps to a source key (null: not from this source); each mapped key
    /// must exist with the target's shape.
    /// </summary>
    public static void CopyAll(string source, nn.Module target, IReadOnlyDictionary<string, Tensor> weights, Func<string, string?> sourceKey)
    {
        var expected = target.state_dict().Where(kv => sourceKey(kv.Key) is not null).ToDictionary(kv => kv.Key, kv => kv.Value);
        var mapped = expected.Keys.ToDictionary(k => k, k => sourceKey(k)!);
        var missing = mapped.Values.Where(k => !weights.ContainsKey(k)).Order().ToList();
        var unexpected = weights.Keys.Except(mapped.Values).Order().ToList();
        var misShaped = mapped.Where(kv => weights.TryGetValue(kv.Value, out var w) && !w.shape.SequenceEqual(expected[kv.Key].shape))
            .Select(kv => $"{kv.Value}: file [{string.Join(", ", weights[kv.Value].shape)}], model [{string.Join(", ", expected[kv.Key].shape)}]").ToList();
        if (missing.Count + unexpected.Count + misShaped.Count > 0)
            throw new CheckpointMismatchException(
                $"{source} does not fit the model: {missing.Count} missing ({string.Join("; ", missing.Take(10))}), {unexpected.Count} unexpected ({string.Join("; ", unexpected.Take(10))}), {misShaped.Count} wrong shape ({string.Join("; ", misShaped.Take(10))})",
                missing, unexpected, misShaped);
        using var noGrad = no_grad();
        foreach (var (key, tensor) in expected) tensor.copy_(weights[mapped[key]]);
    }
}
