using Gmsa.Engine.Generation;
using Gmsa.Engine.Model;
using static TorchSharp.torch;

namespace Gmsa.Engine.Serving;

// Legend: B rows, S cached positions (left padding included), V vocab.

/// <summary>
/// The sequences decoding together: one KV cache with a row per sequence, right-aligned with left padding, and the
/// padding mask that says which cached positions are real. Sequences join after their prefill and leave when done;
/// each <see cref="Step"/> advances every row by one token. Runs on the model thread.
/// </summary>
internal sealed class RunningBatch : IDisposable
{
    readonly CausalLM model;
    KvCache cache;
    Tensor? mask;                                  // [B, S] int64: 1 real, 0 padding
    readonly List<SequenceRow> rows = [];

    public RunningBatch(CausalLM model, string? decoderAdapter)
    {
        this.model = model;
        DecoderAdapter = decoderAdapter;
        cache = new KvCache(model.Config.NumHiddenLayers);
    }

    /// <summary>The decoder weights this batch runs with: an adapter's (answers or restating over soft tokens) or the base's (null, plain text).</summary>
    public string? DecoderAdapter { get; }
    public IReadOnlyList<SequenceRow> Rows => rows;
    public int Count => rows.Count;
    public long CachedPositions => cache.Length;

    /// <summary>Adds a prefilled sequence (its one-row cache is copied in; the job keeps and frees its own).</summary>
    public void Join(PrefillJob job)
    {
        using var scope = NewDisposeScope();
        long before = cache.Length;
        cache.AppendRows(job.Cache);
        long length = cache.Length;
        var mine = mask is null ? null : PadLeft(mask, length - before);
        var theirs = PadLeft(ones(1, job.Cache.Length, dtype: ScalarType.Int64, device: model.Device), length - job.Cache.Length);
        var joined = (mine is null ? theirs : cat([mine, theirs], 0)).MoveToOuterDisposeScope();
        mask?.Dispose();
        mask = joined;
        rows.Add(job.Row);
    }

    static Tensor PadLeft(Tensor m, long columns) =>
        columns == 0 ? m : cat([zeros(m.shape[0], columns, dtype: m.dtype, device: m.device), m], 1);

    /// <summary>Drops the rows for which <paramref name="leaves"/> says so, then the padding columns no row needs any more.</summary>
    public void RemoveWhere(Func<SequenceRow, bool> leaves)
    {
        var keep = Enumerable.Range(0, rows.Count).Where(i => !leaves(rows[i])).Select(i => (long)i).ToArray();
        if (keep.Length == rows.Count) return;
        using var scope = NewDisposeScope();
        if (keep.Length == 0)
        {
            cache.Dispose();
            cache = new KvCache(model.Config.NumHiddenLayers);
            mask?.Dispose();
            mask = null;
            rows.Clear();
            return;
        }
        cache.KeepRows(keep);
        var kept = mask!.index_select(0, tensor(keep, device: mask.device));
        var keptRows = keep.Select(i => rows[(int)i]).ToList();
        rows.Clear();
        rows.AddRange(keptRows);
        // Columns that are padding in every remaining row: the longest sequence that needed them has left.
        long unused = kept.sum(0).gt(0).to(ScalarType.Int64).argmax().item<long>(); // argmax: the first real column
        cache.DropFront(unused);
        var trimmed = kept.narrow(1, unused, kept.shape[1] - unused).contiguous().MoveToOuterDisposeScope();
        mask.Dispose();
        mask = trimmed;
    }

    /// <summary>
    /// One decode step for every row: each row's last token in, each row's next token sampled with its own settings.
    /// Returns the chosen ids in row order.
    /// </summary>
    public int[] Step()
    {
        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        var tokens = rows.Select(r => (long)r.LastToken).ToArray();
        var stepMask = cat([mask!, ones(rows.Count, 1, dtype: ScalarType.Int64, device: model.Device)], 1).MoveToOuterDisposeScope();
        mask!.Dispose();
        mask = stepMask;
        var logits = model.DecodeStep(tokens, mask, cache);                                          // [B, V]
        var chosen = new int[rows.Count];
        for (int r = 0; r < rows.Count; r++) chosen[r] = rows[r].Sample(logits.narrow(0, r, 1));
        return chosen;
    }

    public void Dispose()
    {
        cache.Dispose();
        mask?.Dispose();
    }
}
