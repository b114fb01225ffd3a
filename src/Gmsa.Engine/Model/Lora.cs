using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Gmsa.Engine.Model;

/// <summary>Puts LoRA adapters on a module's projections and finds them again by their PEFT key names.</summary>
public static class Lora
{
    /// <summary>
    /// Adds an adapter to every <see cref="LoraLinear"/> under <paramref name="root"/> whose name passes
    /// <paramref name="include"/> (all of them by default, as GMSA does). Adapters are initialised from a
    /// generator seeded with <paramref name="seed"/>, so the same seed gives the same adapters.
    /// </summary>
    public static int AddAdapters(nn.Module root, LoraOptions options, long seed, Func<string, bool>? include = null)
    {
        var targets = root.named_modules().Where(m => m.module is LoraLinear && (include?.Invoke(m.name) ?? true)).ToList();
        if (targets.Count == 0) throw new ArgumentException("no projection matched: nothing to put an adapter on");
        var saved = get_rng_state();
        try
        {
            manual_seed(seed);
            foreach (var (_, module) in targets) ((LoraLinear)module).AddAdapter(options);
        }
        finally
        {
            set_rng_state(saved); // adapter init must not shift the training run's random stream
            saved.Dispose();
        }
        return targets.Count;
    }

    /// <summary>The projections of the transformer blocks of a CausalLM (not its LM head).</summary>
    public static bool InDecoderBlocks(string moduleName) => moduleName.StartsWith("model.layers.", StringComparison.Ordinal);

    public static bool IsAdapterKey(string name) => name.Contains(".lora_A.", StringComparison.Ordinal) || name.Contains(".lora_B.", StringComparison.Ordinal);

    /// <summary>The adapter weights under a module, named as its state_dict names them.</summary>
    public static IEnumerable<(string Name, Parameter Parameter)> AdapterParameters(nn.Module root) =>
        root.named_parameters().Where(p => IsAdapterKey(p.name)).Select(p => (p.name, p.parameter));

    /// <summary>Switches every adapter under a module on or off (weights untouched); returns how many there are.</summary>
    public static int SetActive(nn.Module root, bool active)
    {
        int count = 0;
        foreach (var (_, module) in root.named_modules())
            if (module is LoraLinear { HasAdapter: true } linear) { linear.AdapterActive = active; count++; }
        return count;
    }

    /// <summary>Folds every adapter under a module into its inference weight (see <see cref="LoraLinear.MergeForInference"/>).</summary>
    public static void MergeForInference(nn.Module root)
    {
        foreach (var (_, module) in root.named_modules())
            if (module is LoraLinear { HasAdapter: true } linear) linear.MergeForInference();
    }
}
