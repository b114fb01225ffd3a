using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Gmsa.Engine.Model;

/// <summary>Puts LoRA adapters on a module's projections and finds them again by their PEFT key names.</summary>
public static class Lora
{
    /// <summary>The trained adapter's name, as PEFT names a model's first adapter.</summary>
    public const string DefaultAdapter = "default";

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
    public static int SetActive(nn.Module root, bool active) => Activate(root, active ? DefaultAdapter : null);

    /// <summary>
    /// Switches the projections under a module to the adapter named <paramref name="adapter"/>, or to the base weights
    /// alone when it is null; returns how many projections carry adapters.
    /// </summary>
    public static int Activate(nn.Module root, string? adapter)
    {
        int count = 0;
        foreach (var (_, module) in root.named_modules())
            if (module is LoraLinear { HasAnyAdapter: true } linear)
            {
                linear.AdapterActive = adapter is not null;
                linear.ActiveAdapter = adapter ?? DefaultAdapter;
                count++;
            }
        return count;
    }

    /// <summary>
    /// Switches the projections under a module to <paramref name="adapter"/> (null: the base weights alone) until the
    /// returned scope is disposed, which switches every adapter off again: `using (Lora.Use(decoder, name)) { ... }`.
    /// </summary>
    public static AdapterScope Use(nn.Module root, string? adapter)
    {
        Activate(root, adapter);
        return new AdapterScope(root);
    }

    /// <summary>Adapters off again on dispose (see <see cref="Use"/>).</summary>
    public readonly struct AdapterScope(nn.Module root) : IDisposable
    {
        public void Dispose() => SetActive(root, false);
    }

    /// <summary>
    /// Adds a served (never trained) adapter named <paramref name="name"/> from PEFT-style weights keyed by the module's own
    /// state_dict names (<c>model.layers.0.self_attn.q_proj.lora_A.weight</c>, ...). Every key must find its
    /// projection and every projection must get both halves, so a mismatched file fails loudly.
    /// </summary>
    public static int AddServedAdapters(nn.Module root, string name, IReadOnlyDictionary<string, Tensor> weights, double scale)
    {
        var pairs = new List<(LoraLinear Linear, Tensor A, Tensor B)>();
        var used = new HashSet<string>();
        foreach (var (module, m) in root.named_modules())
        {
            if (m is not LoraLinear linear) continue;
            string a = module + ".lora_A.weight", b = module + ".lora_B.weight";
            bool hasA = weights.ContainsKey(a), hasB = weights.ContainsKey(b);
            if (hasA != hasB) throw new InvalidDataException($"adapter '{name}' has only one half of {module} ({(hasA ? a : b)})");
            if (!hasA) continue;
            pairs.Add((linear, weights[a], weights[b]));
            used.Add(a);
            used.Add(b);
        }
        var unknown = weights.Keys.Where(k => !used.Contains(k)).Take(3).ToArray();
        if (unknown.Length > 0) throw new InvalidDataException($"adapter '{name}' has weights for no projection of this model: {string.Join(", ", unknown)}");
        if (pairs.Count == 0) throw new InvalidDataException($"adapter '{name}' holds no weights");
        foreach (var (linear, a, b) in pairs) linear.AddServedAdapter(name, a, b, scale);   // checked in full before any is added
        return pairs.Count;
    }

    /// <summary>Whether any projection under a module carries a served adapter named <paramref name="name"/>.</summary>
    public static bool HasServedAdapter(nn.Module root, string name) =>
        root.named_modules().Any(m => m.module is LoraLinear linear && linear.HasServedAdapter(name));

    /// <summary>Folds every trained adapter under a module into its inference weight (see <see cref="LoraLinear.MergeForInference"/>).</summary>
    public static void MergeForInference(nn.Module root)
    {
        foreach (var (_, module) in root.named_modules())
            if (module is LoraLinear { HasAdapter: true } linear) linear.MergeForInference();
        PackFolded(root);
    }

    /// <summary>Folds every served adapter under a module into a weight of its own (see <see cref="LoraLinear.MergeServedForInference"/>).</summary>
    public static void MergeServedForInference(nn.Module root)
    {
        foreach (var (_, module) in root.named_modules())
            if (module is LoraLinear linear) linear.MergeServedForInference();
        PackFolded(root);
    }

    /// <summary>q/k/v and gate/up stay one matmul each with a folded adapter on (see <see cref="FusedProjections.PackFolded"/>).</summary>
    static void PackFolded(nn.Module root)
    {
        foreach (var (_, module) in root.named_modules())
            if (module is Attention attention) attention.Qkv.PackFolded();
            else if (module is Mlp mlp) mlp.GateUp.PackFolded();
    }
}
