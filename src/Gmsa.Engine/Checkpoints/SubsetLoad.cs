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
    public static void Copy(string source, nn.Module target, IReadOnlyDictionary<string, Tensor> weights, Func<string, string> sourceKey) =>
        CopyMapped(source, target, weights, key => Lora.IsAdapterKey(key) ? null : sourceKey(key), refuseUnused: false);

    /// <summary>
    /// Copies into every target tensor whose key maps to a source key (null: not from this source); each mapped key
    /// must exist with the target's shape, and every source tensor must be used.
    /// </summary>
    public static void CopyAll(string source, nn.Module target, IReadOnlyDictionary<string, Tensor> weights, Func<string, string?> sourceKey) =>
        CopyMapped(source, target, weights, sourceKey, refuseUnused: true);

    /// <summary>Checks every mapped key (and, when asked, that no source tensor is left over) before copying anything.</summary>
    static void CopyMapped(string source, nn.Module target, IReadOnlyDictionary<string, Tensor> weights, Func<string, string?> sourceKey, bool refuseUnused)
    {
        var expected = target.state_dict().Where(kv => sourceKey(kv.Key) is not null).ToDictionary(kv => kv.Key, kv => kv.Value);
        var mapped = expected.Keys.ToDictionary(k => k, k => sourceKey(k)!);
        var missing = mapped.Values.Where(k => !weights.ContainsKey(k)).Order().ToList();
        var unexpected = refuseUnused ? weights.Keys.Except(mapped.Values).Order().ToList() : [];
        var misShaped = mapped.Where(kv => weights.TryGetValue(kv.Value, out var w) && !w.shape.SequenceEqual(expected[kv.Key].shape))
            .Select(kv => $"{kv.Value}: file [{string.Join(", ", weights[kv.Value].shape)}], model [{string.Join(", ", expected[kv.Key].shape)}]").ToList();
        if (missing.Count + unexpected.Count + misShaped.Count > 0)
        {
            static string List(List<string> items) => string.Join("; ", items.Take(10));
            string unused = refuseUnused ? $", {unexpected.Count} unexpected ({List(unexpected)})" : "";
            throw new CheckpointMismatchException(
                $"{source} does not fit the model: {missing.Count} missing ({List(missing)}){unused}, {misShaped.Count} wrong shape ({List(misShaped)})",
                missing, unexpected, misShaped);
        }
        using var noGrad = no_grad();
        foreach (var (key, tensor) in expected) tensor.copy_(weights[mapped[key]]);
    }
}
