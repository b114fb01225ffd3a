using Gmsa.Engine.Generation;
using Gmsa.Engine.Model;
using static TorchSharp.torch;

namespace Gmsa.Engine.Serving;

// Legend: P prompt positions (soft tokens and text tokens), D hidden, V vocab.

/// <summary>
/// One sequence's prompt read into its own one-row KV cache, a chunk at a time, so that a long prompt shares the model
/// with the running batch's decode steps instead of stalling them (chunked prefill); the chunks of several jobs are read
/// by one packed forward (<see cref="PackedPrefill"/>). A soft-token prefix whose keys and
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

    /// <summary>
    /// Positions the next chunk reads: up to <paramref name="chunkTokens"/> from where the prompt stands. A prompt is cut at
    /// the same places however busy the scheduler is, so its keys do not depend on what else is prefilling.
    /// </summary>
    public int NextChunk(int chunkTokens) => Math.Min(chunkTokens, Length - Done);

    /// <summary>The next <paramref name="n"/> positions as this job's part of a packed prefill (<see cref="CausalLM.PrefillPacked"/>).</summary>
    public PackedInput Chunk(int n) => new(
        inputs is not null ? inputs.narrow(1, Done, n) : model.Embed(ids!.narrow(1, Done, n)),             // [1, n, D]
        Cache, WantsLogits: Done + n == Length);

    /// <summary>
    /// Records that a packed prefill read the chunk of <paramref name="n"/> positions; <paramref name="logits"/> [1, V] are
    /// its last position's when that ended the prompt (this job then owns them).
    /// </summary>
    public void Read(int n, Tensor? logits)
    {
        Done += n;
        if (!Finished) return;
        lastLogits = (logits ?? throw new ArgumentNullException(nameof(logits), "the prompt's last chunk needs its logits")).DetachFromDisposeScope();
        if (storeAs is not null) prefixes!.Add(storeAs, Cache, softLength);
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
