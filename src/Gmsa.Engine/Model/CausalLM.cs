using Gmsa.Engine.Generation;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Gmsa.Engine.Model;

/// <summary>
/// A decoder-only causal language model (LlamaForCausalLM / Qwen2ForCausalLM / Qwen3ForCausalLM).
/// state_dict keys equal the Hugging Face checkpoint keys: model.embed_tokens.weight,
/// model.layers.{i}.self_attn.q_proj.weight, ..., model.norm.weight, lm_head.weight (untied only).
/// </summary>
public sealed class CausalLM : nn.Module
{
    readonly DecoderModel model;
    readonly LoraLinear? lm_head; // [V, D]; null when tied to embed_tokens

    public CausalLM(ModelConfig config, ScalarType dtype = ScalarType.Float32, Device? device = null) : base(nameof(CausalLM))
    {
        if (dtype == ScalarType.Float16 && (device is null || device.type == DeviceType.CPU))
            throw new NotSupportedException("float16 is not supported on CPU (matmul runs at ~1 GFLOP/s); use bfloat16 or float32");
        Config = config;
        DType = dtype;
        Device = device ?? CPU;
        model = new DecoderModel(config, dtype, device);
        if (!config.TieWordEmbeddings)
            lm_head = Layers.Linear(config.HiddenSize, config.VocabSize, false, dtype, device);
        RegisterComponents();
    }

    public ModelConfig Config { get; }
    public ScalarType DType { get; }
    public Device Device { get; }
    public DecoderModel Model => model;
    internal LoraLinear? LmHeadProjection => lm_head;

    /// <summary>Token embeddings [B, T] -> [B, T, D]: the space soft tokens must live in.</summary>
    public Tensor Embed(Tensor inputIds) => model.EmbedTokens.forward(inputIds);

    /// <summary>Logits for hidden states [B, T, D] -> [B, T, V].</summary>
    public Tensor LmHead(Tensor hidden) =>
        lm_head is not null ? lm_head.forward(hidden) : nn.functional.linear(hidden, model.EmbedTokens.weight!);

    /// <summary>
    /// The trunk alone: normed last hidden states [B, T, D], no vocabulary projection. Training over a few target
    /// positions projects just those rows with <see cref="LmHead"/> instead of paying for [B, T, V] logits.
    /// </summary>
    public Tensor HiddenStates(Tensor? inputIds = null, Tensor? inputsEmbeds = null, Tensor? attentionMask = null,
        Tensor? positionIds = null, KvCache? cache = null) =>
        model.forward(inputIds, inputsEmbeds, attentionMask, positionIds, cache);

    /// <summary>
    /// Full forward. Returns logits [B, T, V] (or [B, 1, V] with <paramref name="lastTokenOnly"/>, which
    /// spares the vocabulary projection of every prompt position during prefill) and, when asked, the
    /// last hidden states [B, T, D].
    /// </summary>
    public CausalLMOutput forward(Tensor? inputIds = null, Tensor? inputsEmbeds = null, Tensor? attentionMask = null,
        Tensor? positionIds = null, KvCache? cache = null, bool lastTokenOnly = false, bool returnHiddenStates = false)
    {
        using var scope = NewDisposeScope();
        var hidden = model.forward(inputIds, inputsEmbeds, attentionMask, positionIds, cache); // [B, T, D]
        var forHead = lastTokenOnly ? hidden.narrow(1, hidden.shape[1] - 1, 1) : hidden;
        var logits = LmHead(forHead).MoveToOuterDisposeScope();                               // [B, T|1, V]
        return new CausalLMOutput(logits, returnHiddenStates ? hidden.MoveToOuterDisposeScope() : null);
    }

    /// <summary>
    /// Rows a packed forward has at least: below ~9 rows libtorch's float32 GEMM takes another kernel, whose rows differ
    /// in the last bits from the blocked one's; from 16 rows up, a row's result does not depend on the rows beside it
    /// (bf16 and float32, measured on this build), so shorter packs are padded to this.
    /// </summary>
    public const int MinPackedRows = 16;

    /// <summary>
    /// Reads several sequences' next positions in one forward, packed end to end without padding between them
    /// (<see cref="DecoderModel.ForwardPacked"/>): one GEMM per projection for all of them, attention per sequence. Each
    /// input's cache advances by its positions. Returns each input's last-position logits [1, V] where it wants them, else
    /// null. On CPU every row gets what a forward over its sequence alone (padded to <see cref="MinPackedRows"/>) gives.
    /// </summary>
    public Tensor?[] PrefillPacked(IReadOnlyList<PackedInput> inputs)
    {
        if (inputs.Count == 0) return [];
        using var scope = NewDisposeScope();
        var parts = new List<Tensor>(inputs.Count + 1);
        var segments = new List<PackedSegment>(inputs.Count);
        int rows = 0;
        foreach (var input in inputs)
        {
            var e = input.Embeddings;                                                                    // [1, T, D]
            if (e.dim() != 3 || e.shape[0] != 1 || e.shape[1] < 1 || e.shape[2] != Config.HiddenSize)
                throw new ArgumentException($"each packed input must be [1, T >= 1, {Config.HiddenSize}], got [{string.Join(", ", e.shape)}]");
            parts.Add(e.to(DType));
            segments.Add(new PackedSegment(rows, (int)e.shape[1], input.Cache));
            rows += (int)e.shape[1];
        }
        if (rows < MinPackedRows) parts.Add(zeros(1, MinPackedRows - rows, Config.HiddenSize, DType, Device));
        var hidden = model.ForwardPacked(cat(parts, dim: 1), segments);                                 // [1, N, D]
        var logits = new Tensor?[inputs.Count];
        for (int i = 0; i < inputs.Count; i++)
            if (inputs[i].WantsLogits)   // one row at a time, the shape of the head's call for a sequence alone
                logits[i] = LmHead(hidden.narrow(1, segments[i].Offset + segments[i].Length - 1, 1)).squeeze(1).MoveToOuterDisposeScope(); // [1, V]
        return logits;
    }

    /// <summary>
    /// One decode step: logits [B, V] for one new token per row after the cached ones, the cache advanced by one.
    /// <paramref name="attentionMask"/> [B, S] covers cached and new positions (null: no padding). Small CPU batches go
    /// through <see cref="CpuDecodeStep"/>, everything else through <see cref="forward"/>; both give the same logits.
    /// </summary>
    public Tensor DecodeStep(ReadOnlySpan<long> tokens, Tensor? attentionMask, KvCache cache)
    {
        if (CpuDecode.Supports(tokens.Length, cache)) return CpuDecode.Forward(tokens, attentionMask, cache);
        using var scope = NewDisposeScope();
        var input = tensor(tokens.ToArray(), [tokens.Length, 1], device: Device);                 // [B, 1]
        using var output = forward(input, attentionMask: attentionMask, cache: cache);
        return output.Logits.squeeze(1).MoveToOuterDisposeScope();                                // [B, V]
    }

    /// <summary>
    /// One decode step over the sequences in <paramref name="slots"/> of a <see cref="RowSlotCache"/>: logits [B, V], each
    /// slot advanced by one. Only the CPU decode step reads that layout; check <see cref="DecodesInSlots"/> first.
    /// </summary>
    public Tensor DecodeStep(ReadOnlySpan<long> tokens, ReadOnlySpan<int> slots, RowSlotCache cache)
    {
        if (!CpuDecode.Supports(tokens.Length))
            throw new InvalidOperationException("the CPU decode step cannot run this model as it is now (device, dtype or an unmerged adapter): decode it through a KvCache");
        return CpuDecode.Forward(tokens, slots, cache);
    }

    /// <summary>True when <paramref name="batch"/> rows can decode from a <see cref="RowSlotCache"/> with the model as it is now.</summary>
    public bool DecodesInSlots(int batch)
    {
        using var inference = inference_mode();
        return CpuDecode.Supports(batch);
    }

    CpuDecodeStep CpuDecode => cpuDecode ??= new CpuDecodeStep(this);
    CpuDecodeStep? cpuDecode;

    /// <summary>
    /// Fresh-model initialisation (as transformers does): N(0, std) for matrices, ones for norms, zeros
    /// for biases. With <paramref name="scaleResidualProjections"/>, the projections that write into the
    /// residual stream (o_proj, down_proj) get std / sqrt(2 x layers), as GPT-2 does, so the stream's
    /// variance does not grow with depth at the start of pretraining.
    /// </summary>
    public void InitializeWeights(long seed, double std = 0.02, bool scaleResidualProjections = false)
    {
        using var noGrad = no_grad();
        var generator = new Generator((ulong)seed, Device);
        double residualStd = scaleResidualProjections ? std / Math.Sqrt(2.0 * Config.NumHiddenLayers) : std;
        foreach (var (name, p) in named_parameters())
        {
            if (name.EndsWith("norm.weight")) p.fill_(Scalars.One);
            else if (name.EndsWith(".bias")) p.zero_();
            else if (name.EndsWith("o_proj.weight") || name.EndsWith("down_proj.weight")) p.normal_(0, residualStd, generator);
            else p.normal_(0, std, generator);
        }
    }

    /// <summary>The checkpoint's parameters: LoRA adapters put over it (GMSA's decoder adapters) are not part of the model.</summary>
    public long ParameterCount() => named_parameters().Where(p => !Lora.IsAdapterKey(p.name)).Sum(p => p.parameter.numel());
}

/// <summary>Result of <see cref="CausalLM.forward"/>; the caller owns (and disposes) both tensors.</summary>
public sealed record CausalLMOutput(Tensor Logits, Tensor? HiddenStates) : IDisposable
{
    public void Dispose()
    {
        Logits.Dispose();
        HiddenStates?.Dispose();
    }
}
