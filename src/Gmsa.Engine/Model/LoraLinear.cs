using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Gmsa.Engine.Model;

// Legend: N any leading dims, In/Out features, R adapter rank.

/// <summary>How a low-rank adapter is shaped (PEFT's LoraConfig): rank, alpha (scale = alpha / rank) and input dropout.</summary>
public sealed record LoraOptions(int Rank = 128, double Alpha = 32, double Dropout = 0.05)
{
    public double Scale => Alpha / Rank;

    public void Validate()
    {
        if (Rank < 1) throw new ArgumentException($"LoRA rank must be >= 1, got {Rank}");
        if (!(Alpha > 0)) throw new ArgumentException($"LoRA alpha must be > 0, got {Alpha}");
        if (!(Dropout >= 0 && Dropout < 1)) throw new ArgumentException($"LoRA dropout must lie in [0, 1), got {Dropout}");
    }
}

/// <summary>
/// A linear projection whose checkpoint keys are those of nn.Linear (<c>weight</c> [Out, In], <c>bias</c> [Out]),
/// and which can carry a LoRA adapter as PEFT lays it out: <c>lora_A.weight</c> [R, In] (Kaiming-uniform, as
/// nn.Linear initialises) and <c>lora_B.weight</c> [Out, R] (zeros, so a fresh adapter changes nothing):
/// y = x W^T + b + (alpha / R) * dropout(x) A^T B^T.
/// </summary>
public sealed class LoraLinear : nn.Module<Tensor, Tensor>
{
    readonly Parameter weight;  // [Out, In]
    readonly Parameter? bias;   // [Out]
    Linear? lora_A;             // In -> R
    Linear? lora_B;             // R -> Out
    double scale, dropout;
    Scalar? scaleScalar;        // scale as the Scalar every forward passes (see Scalars)
    Tensor? mergedWeight;       // [Out, In] = W + scale * B A, for serving with the adapter on
    readonly Dictionary<string, ServedAdapter> servedAdapters = [];   // more adapters over the same W, served, never trained

    public LoraLinear(Parameter weight, Parameter? bias) : base(nameof(LoraLinear))
    {
        this.weight = weight;
        this.bias = bias;
        RegisterComponents();
    }

    public long InFeatures => weight.shape[1];
    public long OutFeatures => weight.shape[0];
    public Parameter Weight => weight;
    public Parameter? Bias => bias;
    public bool HasAdapter => lora_A is not null;
    /// <summary>Whether there is an adapter to switch on: the trained one, or a served one (<see cref="AddServedAdapter"/>).</summary>
    public bool HasAnyAdapter => HasAdapter || servedAdapters.Count > 0;
    /// <summary>False: the adapter is skipped (the base projection alone), e.g. for plain completions on a decoder with GMSA adapters.</summary>
    public bool AdapterActive { get; set; } = true;
    /// <summary>
    /// Which adapter is on while <see cref="AdapterActive"/>: <see cref="Lora.DefaultAdapter"/> (the trained one,
    /// <c>lora_A</c>/<c>lora_B</c>) or a name given to <see cref="AddServedAdapter"/>.
    /// </summary>
    public string ActiveAdapter { get; set; } = Lora.DefaultAdapter;
    public LoraOptions? Adapter { get; private set; }

    /// <summary>Adds a fresh adapter in the weight's dtype and device; initialisation draws from libtorch's default generator.</summary>
    public void AddAdapter(LoraOptions options)
    {
        options.Validate();
        if (HasAdapter) throw new InvalidOperationException("this projection already carries a LoRA adapter");
        lora_A = nn.Linear(InFeatures, options.Rank, hasBias: false, device: weight.device, dtype: weight.dtype);
        lora_B = nn.Linear(options.Rank, OutFeatures, hasBias: false, device: weight.device, dtype: weight.dtype);
        using (no_grad()) lora_B.weight!.zero_();
        register_module(nameof(lora_A), lora_A);
        register_module(nameof(lora_B), lora_B);
        scale = options.Scale;
        scaleScalar = scale.ToScalar();
        dropout = options.Dropout;
        Adapter = options;
    }

    /// <summary>
    /// Folds the adapter into a second weight, W + (alpha / R) B A, used by inference forwards (no autograd, eval
    /// mode) while the adapter is active: one matmul a projection instead of three, which decode is bound by. The base
    /// weight stays as it is, so switching the adapter off still gives the base model. Call it only once the weights
    /// are final (serving): a later change of W, A or B is not seen until it is called again.
    /// </summary>
    public void MergeForInference()
    {
        if (lora_A is null || lora_B is null) return;
        mergedWeight?.Dispose();
        mergedWeight = Fold(lora_A.weight!, lora_B.weight!, scale);
    }

    /// <summary>
    /// Folds every served adapter into a weight of its own, as <see cref="MergeForInference"/> does the trained one: decode
    /// with it on is then as fast as with the trained one, at the cost of one more [Out, In] weight per adapter.
    /// </summary>
    public void MergeServedForInference()
    {
        foreach (var adapter in servedAdapters.Values)
        {
            adapter.Merged?.Dispose();
            adapter.Merged = Fold(adapter.A, adapter.B, adapter.ScaleValue);
        }
    }

    /// <summary>The adapters folded into weights of their own (<see cref="Lora.DefaultAdapter"/> for the trained one).</summary>
    internal IEnumerable<string> FoldedAdapters =>
        (mergedWeight is null ? [] : new[] { Lora.DefaultAdapter }).Concat(servedAdapters.Where(a => a.Value.Merged is not null).Select(a => a.Key));

    /// <summary>The folded weight of adapter <paramref name="name"/> [Out, In], or null while it is not folded.</summary>
    internal Tensor? FoldedWeight(string name) => name == Lora.DefaultAdapter ? mergedWeight : servedAdapters.GetValueOrDefault(name)?.Merged;

    /// <summary>
    /// Puts <paramref name="view"/> (equal values: rows of a <see cref="FusedProjections"/> buffer) in place of adapter
    /// <paramref name="name"/>'s folded weight and frees the old one, so a fused buffer costs no memory of its own.
    /// </summary>
    internal void ReplaceFoldedWeight(string name, Tensor view)
    {
        if (name == Lora.DefaultAdapter)
        {
            mergedWeight?.Dispose();
            mergedWeight = view;
            return;
        }
        var adapter = servedAdapters[name];
        adapter.Merged?.Dispose();
        adapter.Merged = view;
    }

    /// <summary>W + scale * B A in float32, back in the weight's dtype: [Out, In].</summary>
    Tensor Fold(Tensor a, Tensor b, double s)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        using var factor = s.ToScalar();   // held through the call, not a temporary (see Scalars)
        var update = b.to(ScalarType.Float32).mm(a.to(ScalarType.Float32)).mul_(factor);
        return weight.to(ScalarType.Float32).add(update, Scalars.One).to(weight.dtype).DetachFromDisposeScope();
    }

    /// <summary>
    /// Adds a second (third, ...) adapter over the same base weight, served and never trained, under <paramref name="name"/>:
    /// <paramref name="loraA"/> [R, In] and <paramref name="loraB"/> [Out, R] as PEFT saves them, scale = alpha / R. It
    /// is unfolded (three matmuls while it is on, memory of its rank) until <see cref="MergeServedForInference"/> folds it.
    /// The tensors are copied into the weight's dtype and device.
    /// </summary>
    public void AddServedAdapter(string name, Tensor loraA, Tensor loraB, double scale)
    {
        if (name == Lora.DefaultAdapter) throw new ArgumentException($"'{name}' names the trained adapter (lora_A, lora_B)");
        if (servedAdapters.ContainsKey(name)) throw new InvalidOperationException($"this projection already carries an adapter named '{name}'");
        if (loraA.dim() != 2 || loraB.dim() != 2 || loraA.shape[1] != InFeatures || loraB.shape[0] != OutFeatures || loraA.shape[0] != loraB.shape[1])
            throw new ArgumentException($"adapter '{name}' is [{string.Join(", ", loraA.shape)}] x [{string.Join(", ", loraB.shape)}], " +
                $"which does not fit a projection of {InFeatures} -> {OutFeatures}");
        var a = loraA.to(weight.dtype, weight.device, copy: true).DetachFromDisposeScope();
        var b = loraB.to(weight.dtype, weight.device, copy: true).DetachFromDisposeScope();
        servedAdapters[name] = new ServedAdapter(a, b, scale);
    }

    public bool HasServedAdapter(string name) => servedAdapters.ContainsKey(name);

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            mergedWeight?.Dispose();
            foreach (var adapter in servedAdapters.Values) adapter.Dispose();
        }
        base.Dispose(disposing);
    }

    /// <summary>
    /// The one weight an inference forward multiplies by (the base weight, or the merged one while the adapter is on),
    /// or null while an unmerged adapter is on: then the forward is three matmuls and no single weight stands for it.
    /// </summary>
    internal Tensor? InferenceWeight =>
        !AdapterActive || !HasAnyAdapter ? weight
        : ActiveAdapter != Lora.DefaultAdapter ? (servedAdapters.GetValueOrDefault(ActiveAdapter)?.Merged is { } folded && !training ? folded : null)
        : lora_A is null ? weight
        : mergedWeight is not null && !training ? mergedWeight : null;

    public override Tensor forward(Tensor x) // [N, In] -> [N, Out]
    {
        if (AdapterActive && ActiveAdapter != Lora.DefaultAdapter && HasAnyAdapter)
            return ForwardServed(x);
        if (AdapterActive && mergedWeight is not null && !training && !is_grad_enabled())
            return nn.functional.linear(x, mergedWeight, bias);
        var y = nn.functional.linear(x, weight, bias);
        if (lora_A is null || lora_B is null || !AdapterActive) return y;
        using var scope = NewDisposeScope();
        var input = dropout > 0 && training ? DropoutRandom.Apply(x, dropout) : x;   // masks from a generator a checkpoint can save
        var update = lora_B.forward(lora_A.forward(input));                       // [N, Out]
        var sum = is_grad_enabled() ? y.add(update, scaleScalar!) : y.add_(update, scaleScalar!);
        return sum.MoveToOuterDisposeScope();
    }

    Tensor ForwardServed(Tensor x) // [N, In] -> [N, Out]
    {
        if (!servedAdapters.TryGetValue(ActiveAdapter, out var adapter))
            throw new InvalidOperationException($"no adapter named '{ActiveAdapter}' on this projection");
        if (adapter.Merged is not null && !training && !is_grad_enabled())
            return nn.functional.linear(x, adapter.Merged, bias);
        var y = nn.functional.linear(x, weight, bias);
        using var scope = NewDisposeScope();
        var update = nn.functional.linear(nn.functional.linear(x, adapter.A), adapter.B);   // [N, Out]; its weights never train
        var sum = is_grad_enabled() ? y.add(update, adapter.Scale) : y.add_(update, adapter.Scale);
        return sum.MoveToOuterDisposeScope();
    }

    sealed class ServedAdapter(Tensor a, Tensor b, double scale) : IDisposable
    {
        public Tensor A { get; } = a;                    // [R, In]
        public Tensor B { get; } = b;                    // [Out, R]
        public double ScaleValue { get; } = scale;
        public Scalar Scale { get; } = scale.ToScalar();
        public Tensor? Merged { get; set; }              // [Out, In] = W + scale * B A, once folded

        public void Dispose()
        {
            A.Dispose();
            B.Dispose();
            Scale.Dispose();
            Merged?.Dispose();
        }
    }
}
