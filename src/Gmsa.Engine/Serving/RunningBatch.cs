using Gmsa.Engine.Generation;
using Gmsa.Engine.Model;
using static TorchSharp.torch;

namespace Gmsa.Engine.Serving;

// Legend: B rows, S cached positions (left padding included), V vocab.

/// <summary>
/// The sequences decoding together. Sequences join after their prefill and leave when done; each <see cref="Step"/>
/// advances every row by one token. Runs on the model thread. Two cache layouts: where the CPU decode step runs the
/// model, a <see cref="RowSlotCache"/> (a slot per sequence at its own length: a join copies the sequence alone, a leave
/// copies nothing); elsewhere (CUDA, an unmerged adapter, more rows than the step takes) one <see cref="KvCache"/> with a
/// row per sequence, right-aligned with left padding, and the padding mask that says which cached positions are real.
/// </summary>
internal sealed class RunningBatch : IDisposable
{
    readonly CausalLM model;
    readonly int maxRows;
    readonly bool rowSlots;
    KvCache cache;
    Tensor? mask;                                  // [B, S] int64: 1 real, 0 padding
    RowSlotCache? slotCache;                       // instead of cache and mask, when the CPU step runs the batch
    readonly List<int> slots = [];                 // per row: its slot in slotCache
    readonly List<SequenceRow> rows = [];

    /// <param name="maxRows">the most rows the batch will hold (the scheduler's MaxBatchSize)</param>
    /// <param name="rowSlots">false keeps the shared, left-padded cache even where the CPU step could use slots (`gmsa bench serve` compares the two)</param>
    public RunningBatch(CausalLM model, string? decoderAdapter, int maxRows = 16, bool rowSlots = true)
    {
        this.model = model;
        this.maxRows = maxRows;
        this.rowSlots = rowSlots;
        DecoderAdapter = decoderAdapter;
        cache = new KvCache(model.Config.NumHiddenLayers);
    }

    /// <summary>The decoder weights this batch runs with: an adapter's (answers or restating over soft tokens) or the base's (null, plain text).</summary>
    public string? DecoderAdapter { get; }
    public IReadOnlyList<SequenceRow> Rows => rows;
    public int Count => rows.Count;
    public long CachedPositions => slotCache?.LongestLength ?? cache.Length;

    /// <summary>Adds a prefilled sequence (its one-row cache is copied in; the job keeps and frees its own).</summary>
    public void Join(PrefillJob job)
    {
        // The layout is chosen when the batch starts; the scheduler joins and steps a batch under the same adapter.
        if (rows.Count == 0 && rowSlots && model.DecodesInSlots(maxRows)) slotCache ??= new RowSlotCache(model.Config.NumHiddenLayers);
        if (slotCache is not null)
        {
            slots.Add(slotCache.Add(job.Cache));
            rows.Add(job.Row);
            return;
        }
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
            slotCache?.Dispose();                  // an idle batch holds no memory
            slotCache = null;
            slots.Clear();
            rows.Clear();
            return;
        }
        var keptRows = keep.Select(i => rows[(int)i]).ToList();
        rows.Clear();
        rows.AddRange(keptRows);
        if (slotCache is not null)
        {
            var keptSlots = keep.Select(i => slots[(int)i]).ToList();
            foreach (int slot in slots.Except(keptSlots)) slotCache.Remove(slot);   // nothing else moves
            slots.Clear();
            slots.AddRange(keptSlots);
            return;
        }
        cache.KeepRows(keep);
        var kept = mask!.index_select(0, tensor(keep, device: mask.device));
        // Columns that are padding in every remaining row: the longest sequence that needed them has left.
        long unused = kept.sum(0).gt(Scalars.Zero).to(ScalarType.Int64).argmax().item<long>(); // argmax: the first real column
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
        if (slotCache is not null) return Sample(model.DecodeStep(tokens, slots.ToArray(), slotCache));   // [B, V]
        var stepMask = cat([mask!, ones(rows.Count, 1, dtype: ScalarType.Int64, device: model.Device)], 1).MoveToOuterDisposeScope();
        mask!.Dispose();
        mask = stepMask;
        return Sample(model.DecodeStep(tokens, mask, cache));                                      // [B, V]
    }

    int[] Sample(Tensor logits)
    {
        var chosen = new int[rows.Count];
        for (int r = 0; r < rows.Count; r++) chosen[r] = rows[r].Sample(logits.narrow(0, r, 1));
        return chosen;
    }

    public void Dispose()
    {
        cache.Dispose();
        mask?.Dispose();
        slotCache?.Dispose();
    }
}
