using TorchSharp;
using static TorchSharp.torch;

namespace Gmsa.Engine.Generation;

/// <summary>
/// Keys and values of every layer for a batch of sequences, passed into the model's forward
/// (never held by the model). Buffers are preallocated and grown by doubling, so a decode step
/// writes one slice instead of concatenating the whole history.
/// Layout per layer: key_cache[l], value_cache[l]: [B, Hkv, capacity, Dh]; positions 0..Length-1 are valid.
/// </summary>
public sealed class KvCache : IDisposable
{
    readonly Tensor?[] keys;
    readonly Tensor?[] values;
    long capacity;

    public KvCache(int numLayers, long initialCapacity = 256)
    {
        keys = new Tensor?[numLayers];
        values = new Tensor?[numLayers];
        capacity = Math.Max(1, initialCapacity);
    }

    /// <summary>Number of positions already cached (the "past" length of the next forward).</summary>
    public long Length { get; private set; }

    /// <summary>
    /// Writes this step's k/v for one layer at positions Length..Length+T-1 and returns views over
    /// all cached positions: [B, Hkv, Length+T, Dh]. Call <see cref="Advance"/> once all layers ran.
    /// </summary>
    public (Tensor Keys, Tensor Values) Update(int layer, Tensor k, Tensor v) // k, v: [B, Hkv, T, Dh]
    {
        long t = k.shape[2], needed = Length + t;
        if (keys[layer] is null || needed > keys[layer]!.shape[2])
        {
            while (capacity < needed) capacity *= 2;
            keys[layer] = Grow(keys[layer], k, capacity);
            values[layer] = Grow(values[layer], v, capacity);
        }
        using (no_grad())
        {
            keys[layer]!.narrow(2, Length, t).copy_(k);
            values[layer]!.narrow(2, Length, t).copy_(v);
        }
        return (keys[layer]!.narrow(2, 0, needed), values[layer]!.narrow(2, 0, needed));
    }

    public void Advance(long tokens) => Length += tokens;

    /// <summary>
    /// The whole key and value buffers of one layer ([B, Hkv, capacity, Dh]), grown to hold <paramref name="needed"/>
    /// positions, for a decode step that writes its new keys in place; null before the first <see cref="Update"/>.
    /// </summary>
    internal (Tensor Keys, Tensor Values)? Reserve(int layer, long needed)
    {
        if (keys[layer] is null) return null;
        if (needed > keys[layer]!.shape[2])
        {
            while (capacity < needed) capacity *= 2;
            keys[layer] = Grow(keys[layer], keys[layer]!, capacity);
            values[layer] = Grow(values[layer], values[layer]!, capacity);
        }
        return (keys[layer]!, values[layer]!);
    }

    /// <summary>Rows in the cache (0 before the first <see cref="Update"/>).</summary>
    public long Rows => keys[0]?.shape[0] ?? 0;

    /// <summary>
    /// Appends the rows of <paramref name="other"/> (a running batch taking in a freshly prefilled sequence). Both sides
    /// are right-aligned, as left padding keeps them: the shorter one gets more padding in front, which the caller's
    /// padding mask must mark. <paramref name="other"/> is left as it was.
    /// </summary>
    public void AppendRows(KvCache other)
    {
        if (other.keys.Length != keys.Length) throw new ArgumentException("caches of different layer counts");
        if (other.keys[0] is null) return;
        long length = Math.Max(Length, other.Length);
        using var scope = NewDisposeScope();                 // the narrowed views below
        using (no_grad())
            for (int layer = 0; layer < keys.Length; layer++)
            {
                keys[layer] = Stack(keys[layer], Length, other.keys[layer]!, other.Length, length);
                values[layer] = Stack(values[layer], Length, other.values[layer]!, other.Length, length);
            }
        capacity = keys[0]!.shape[2];
        Length = length;
    }

    Tensor Stack(Tensor? mine, long myLength, Tensor theirs, long theirLength, long length)
    {
        long rows = (mine?.shape[0] ?? 0) + theirs.shape[0];
        long newCapacity = Math.Max(capacity, length + 1);
        var shape = theirs.shape.ToArray();
        shape[0] = rows;
        shape[2] = newCapacity;
        var buffer = zeros(shape, dtype: theirs.dtype, device: theirs.device).DetachFromDisposeScope();
        if (mine is not null)
        {
            long b = mine.shape[0];
            buffer.narrow(0, 0, b).narrow(2, length - myLength, myLength).copy_(mine.narrow(2, 0, myLength));
            mine.Dispose();
        }
        buffer.narrow(0, rows - theirs.shape[0], theirs.shape[0]).narrow(2, length - theirLength, theirLength)
            .copy_(theirs.narrow(2, 0, theirLength));
        return buffer;
    }

    /// <summary>
    /// Copies of every layer's keys and values at positions 0..<paramref name="positions"/>-1 ([B, Hkv, positions, Dh] each),
    /// owned by the caller: a prefix to <see cref="Seed"/> another cache with.
    /// </summary>
    public (Tensor Keys, Tensor Values)[] CopyPrefix(long positions)
    {
        if (positions < 1 || positions > Length) throw new ArgumentOutOfRangeException(nameof(positions), $"the cache holds {Length} positions");
        using var scope = NewDisposeScope();                 // the narrowed views
        using (no_grad())
            return keys.Select((k, layer) => (k!.narrow(2, 0, positions).clone().DetachFromDisposeScope(),
                values[layer]!.narrow(2, 0, positions).clone().DetachFromDisposeScope())).ToArray();
    }

    /// <summary>Writes a prefix (<see cref="CopyPrefix"/> of a cache of the same model) into this empty cache as positions 0...</summary>
    public void Seed(IReadOnlyList<(Tensor Keys, Tensor Values)> prefix)
    {
        if (Length != 0) throw new InvalidOperationException("only an empty cache can be seeded");
        if (prefix.Count != keys.Length) throw new ArgumentException($"a prefix of {prefix.Count} layers for a cache of {keys.Length}");
        using var scope = NewDisposeScope();                 // the views Update returns
        for (int layer = 0; layer < keys.Length; layer++) Update(layer, prefix[layer].Keys, prefix[layer].Values);
        Advance(prefix[0].Keys.shape[2]);
    }

    /// <summary>Keeps only the rows at <paramref name="rows"/> (in that order): sequences that left a batch free their memory.</summary>
    public void KeepRows(IReadOnlyList<long> rows)
    {
        using var index = tensor(rows.ToArray(), device: keys[0]?.device ?? CPU);
        for (int layer = 0; layer < keys.Length; layer++)
        {
            if (keys[layer] is null) continue;
            var k = keys[layer]!.index_select(0, index).DetachFromDisposeScope();
            var v = values[layer]!.index_select(0, index).DetachFromDisposeScope();
            keys[layer]!.Dispose();
            values[layer]!.Dispose();
            (keys[layer], values[layer]) = (k, v);
        }
    }

    /// <summary>Drops the first <paramref name="positions"/> positions of every row: padding no remaining row needs.</summary>
    public void DropFront(long positions)
    {
        if (positions <= 0) return;
        if (positions > Length) throw new ArgumentOutOfRangeException(nameof(positions));
        long kept = Length - positions;
        using var scope = NewDisposeScope();
        using (no_grad())
            for (int layer = 0; layer < keys.Length; layer++)
            {
                if (keys[layer] is null) continue;
                // Overlapping ranges: copy through a temporary rather than in place.
                var k = keys[layer]!.narrow(2, positions, kept).clone();
                var v = values[layer]!.narrow(2, positions, kept).clone();
                keys[layer]!.narrow(2, 0, kept).copy_(k);
                values[layer]!.narrow(2, 0, kept).copy_(v);
            }
        Length = kept;
    }

    Tensor Grow(Tensor? old, Tensor like, long newCapacity)
    {
        var shape = like.shape.ToArray();
        shape[2] = newCapacity;
        return Enlarged(old, shape, like.dtype, like.device, Length);
    }

    /// <summary>
    /// A zero-filled buffer of <paramref name="shape"/> [rows, Hkv, capacity, Dh] holding the first
    /// <paramref name="columns"/> positions of <paramref name="old"/>'s rows in its first rows; <paramref name="old"/> is
    /// freed. Zeros: no cell a kernel may read past a row's positions holds NaNs. (Also <see cref="RowSlotCache"/>'s growth.)
    /// </summary>
    internal static Tensor Enlarged(Tensor? old, long[] shape, ScalarType dtype, Device device, long columns)
    {
        var buffer = zeros(shape, dtype: dtype, device: device).DetachFromDisposeScope();
        if (old is not null)
        {
            using (no_grad()) buffer.narrow(0, 0, old.shape[0]).narrow(2, 0, columns).copy_(old.narrow(2, 0, columns));
            old.Dispose();
        }
        return buffer;
    }

    public void Dispose()
    {
        foreach (var t in keys) t?.Dispose();
        foreach (var t in values) t?.Dispose();
        Array.Clear(keys);
        Array.Clear(values);
    }
}
