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

    Tensor Grow(Tensor? old, Tensor like, long newCapacity)
    {
        var shape = like.shape.ToArray();
        shape[2] = newCapacity;
        var buffer = zeros(shape, dtype: like.dtype, device: like.device).DetachFromDisposeScope();
        if (old is not null)
        {
            using (no_grad()) buffer.narrow(2, 0, Length).copy_(old.narrow(2, 0, Length));
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
