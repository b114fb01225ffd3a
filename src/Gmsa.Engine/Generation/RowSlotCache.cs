using static TorchSharp.torch;

namespace Gmsa.Engine.Generation;

// Legend: Hkv key/value heads, Dh head dim.

/// <summary>
/// Keys and values of a running batch whose sequences come and go, one slot per sequence: each slot holds its own
/// positions from column 0 and keeps its own length, as vLLM's blocks do. A sequence that joins is copied into a free
/// slot alone, one that leaves frees its slot without touching the others, so neither costs more than the sequence's
/// own positions. (<see cref="KvCache"/> keeps one length for all rows, right-aligned behind left padding, and a join or
/// a leave copied the whole batch: 0.84 s of a 7 s <c>gmsa bench serve</c> run.) Only <see cref="Model.CpuDecodeStep"/>
/// reads this layout. Layout per layer: [slots, Hkv, capacity, Dh]; slot s holds positions 0..Length(s)-1.
/// </summary>
public sealed class RowSlotCache : IDisposable
{
    readonly Tensor?[] keys;
    readonly Tensor?[] values;
    readonly List<long> lengths = [];               // per slot; -1 when free
    long capacity;

    public RowSlotCache(int numLayers, long initialCapacity = 256)
    {
        keys = new Tensor?[numLayers];
        values = new Tensor?[numLayers];
        capacity = Math.Max(1, initialCapacity);
    }

    /// <summary>Sequences held.</summary>
    public int Count => lengths.Count(l => l >= 0);

    /// <summary>Positions cached in <paramref name="slot"/> (the past length of its next token).</summary>
    public long Length(int slot) => lengths[slot] >= 0 ? lengths[slot] : throw new ArgumentException($"slot {slot} is free", nameof(slot));

    /// <summary>The longest sequence held (0 when empty).</summary>
    public long LongestLength => lengths.DefaultIfEmpty(0).Max();

    /// <summary>
    /// Copies the one sequence of <paramref name="sequence"/> (a prefill's cache: positions 0..Length-1, no padding) into
    /// a free slot and returns the slot. <paramref name="sequence"/> is left as it was.
    /// </summary>
    public int Add(KvCache sequence)
    {
        if (sequence.Rows != 1) throw new ArgumentException($"a sequence's cache has one row, not {sequence.Rows}", nameof(sequence));
        long length = sequence.Length;
        int slot = lengths.IndexOf(-1);
        if (slot < 0) { slot = lengths.Count; lengths.Add(-1); }
        using var scope = NewDisposeScope();
        using var inference = inference_mode();      // the buffers are inference tensors, as the prefill's are
        for (int layer = 0; layer < keys.Length; layer++)
        {
            var (k, v) = sequence.Reserve(layer, length) ?? throw new ArgumentException("the sequence's cache is empty", nameof(sequence));
            Fit(layer, k, length + 1);
            keys[layer]!.narrow(0, slot, 1).narrow(2, 0, length).copy_(k.narrow(2, 0, length));
            values[layer]!.narrow(0, slot, 1).narrow(2, 0, length).copy_(v.narrow(2, 0, length));
        }
        lengths[slot] = length;
        return slot;
    }

    /// <summary>Frees <paramref name="slot"/>; nothing is copied. A later <see cref="Add"/> reuses it.</summary>
    public void Remove(int slot)
    {
        Length(slot);
        lengths[slot] = -1;
    }

    /// <summary>
    /// The whole key and value buffers of one layer ([slots, Hkv, capacity, Dh], contiguous), with room for
    /// <paramref name="columns"/> positions, for a decode step that writes each slot's new key at column Length(slot).
    /// </summary>
    internal (Tensor Keys, Tensor Values) Reserve(int layer, long columns)
    {
        if (keys[layer] is null) throw new InvalidOperationException("the cache holds no sequence");
        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        Fit(layer, keys[layer]!, columns);
        return (keys[layer]!, values[layer]!);
    }

    /// <summary>Each of <paramref name="slots"/> has one more position (after a decode step wrote them).</summary>
    public void Advance(ReadOnlySpan<int> slots)
    {
        foreach (int slot in slots) lengths[slot] = Length(slot) + 1;
    }

    /// <summary>Grows one layer's buffers to hold every slot and <paramref name="columns"/> positions (doubling, so rarely).</summary>
    void Fit(int layer, Tensor like, long columns)
    {
        long rowsNow = keys[layer]?.shape[0] ?? 0, rows = Math.Max(rowsNow, 1);
        while (rows < lengths.Count) rows *= 2;
        long columnsNow = keys[layer]?.shape[2] ?? 0;
        while (capacity < columns) capacity *= 2;
        if (rows == rowsNow && capacity == columnsNow) return;
        long[] shape = [rows, like.shape[1], capacity, like.shape[3]];                // read before `like` may be freed below
        var (dtype, device) = (like.dtype, like.device);
        keys[layer] = KvCache.Enlarged(keys[layer], shape, dtype, device, columnsNow);
        values[layer] = KvCache.Enlarged(values[layer], shape, dtype, device, columnsNow);
    }

    public void Dispose()
    {
        foreach (var t in keys) t?.Dispose();
        foreach (var t in values) t?.Dispose();
        Array.Clear(keys);
        Array.Clear(values);
        lengths.Clear();
    }
}
