using Gmsa.Engine.Generation;
using Gmsa.Engine.Model;
using static TorchSharp.torch;

namespace Gmsa.Engine.Serving;

// Legend: P prompt positions (soft tokens and text tokens), D hidden, V vocab.

/// <summary>
/// One sequence's prompt read into its own one-row KV cache, a chunk at a time, so that a long prompt shares the model
/// with the running batch's decode steps instead of stalling them (chunked prefill). A soft-token prefix whose keys and
/// values are in <see cref="SoftPrefixCache"/> is copied in instead of read; one that is not is stored once the prompt
/// is read. Runs on the model thread.
/// </summary>
internal sealed class PrefillJob : IDisposable
{
    readonly CausalLM model;
    Tensor? inputs;        // [1, P, D] embeddings when the prompt starts with soft tokens, else null
    readonly Tensor? ids;  // [1, P] token ids otherwise
    Tensor? lastLogits;    // [1, V] at the prompt's last position, once done
    readonly SoftPrefixCache? prefixes;
    readonly string? storeAs;   // the soft prefix's key when it was not cached: stored once read
    readonly int softLength;

    public PrefillJob(CausalLM model, SequenceRow row, SoftPrefixCache? prefixes = null)
    {
        this.prefixes = prefixes;
        this.model = model;
        Row = row;
        var request = row.Request;
        Cache = new KvCache(model.Config.NumHiddenLayers, request.InputLength + request.Sampling.MaxNewTokens);
        using var scope = NewDisposeScope();
        var promptIds = tensor(request.PromptTokens.Select(t => (long)t).ToArray(), [1, request.PromptTokens.Count], device: model.Device);
        if (request.SoftPrefix is { } soft)
        {
            var prefix = soft.to(model.DType, model.Device);                                                // [n, D]
            var parts = new List<Tensor> { prefix.unsqueeze(0) };                                           // [1, n, D]
            if (request.PromptTokens.Count > 0) parts.Add(model.Embed(promptIds));                         // [1, T, D]
            inputs = cat(parts, 1).MoveToOuterDisposeScope();
            // With no prompt after it, the first token needs the prefix's last logits, which the cache does not keep.
            if (prefixes is not null && request.PromptTokens.Count > 0)
            {
                softLength = (int)prefix.shape[0];
                var key = SoftPrefixCache.Key(request.DecoderAdapter, prefix);
                if (prefixes.TrySeed(key, Cache)) Done = softLength;
                else storeAs = key;
            }
        }
        else ids = promptIds.MoveToOuterDisposeScope();
        Length = request.InputLength;
    }

    public SequenceRow Row { get; }
    public KvCache Cache { get; }
    public int Length { get; }
    public int Done { get; private set; }
    public bool Finished => Done == Length;

    /// <summary>Reads up to <paramref name="budget"/> more positions; returns how many it read.</summary>
    public int Advance(int budget)
    {
        int n = Math.Min(budget, Length - Done);
        if (n <= 0) return 0;
        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        var output = inputs is not null
            ? model.forward(inputsEmbeds: inputs.narrow(1, Done, n), cache: Cache, lastTokenOnly: true)
            : model.forward(ids!.narrow(1, Done, n), cache: Cache, lastTokenOnly: true);
        Done += n;
        if (Finished)
        {
            lastLogits = output.Logits.squeeze(1).MoveToOuterDisposeScope();                              // [1, V]
            if (storeAs is not null) prefixes!.Add(storeAs, Cache, softLength);
            ReleaseInputs();
        }
        return n;
    }

    /// <summary>The prompt's token ids when it has not started and has no soft prefix: a prefill that <see cref="BatchedPrefill"/> may share.</summary>
    public IReadOnlyList<int>? FreshPrompt => ids is not null && Done == 0 ? Row.Request.PromptTokens : null;

    /// <summary>
    /// Finishes this prefill from row <paramref name="row"/> of a left-padded batch prefill: its last
    /// <see cref="Length"/> positions of <paramref name="shared"/> become this job's cache, <paramref name="logits"/> [1, V]
    /// its last position's logits.
    /// </summary>
    public void CompleteFrom(KvCache shared, int row, Tensor logits)
    {
        if (FreshPrompt is null) throw new InvalidOperationException("only a fresh text prompt is prefilled in a batch");
        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        long padded = shared.Length;
        var prefix = Enumerable.Range(0, model.Config.NumHiddenLayers).Select(layer =>
        {
            var (k, v) = shared.Reserve(layer, padded)!.Value;                                             // [B, Hkv, capacity, Dh]
            return (k.narrow(0, row, 1).narrow(2, padded - Length, Length), v.narrow(0, row, 1).narrow(2, padded - Length, Length));
        }).ToList();
        Cache.Seed(prefix);
        lastLogits = logits.clone().DetachFromDisposeScope();                                               // [1, V], the job frees it
        Done = Length;
        ReleaseInputs();
    }

    /// <summary>Logits of the prompt's last position, for the first sampled token.</summary>
    public Tensor LastLogits => lastLogits ?? throw new InvalidOperationException("the prefill has not finished");

    void ReleaseInputs()
    {
        inputs?.Dispose();
        inputs = null;
        ids?.Dispose();
    }

    public void Dispose()
    {
        ReleaseInputs();
        lastLogits?.Dispose();
        Cache.Dispose();
    }
}
