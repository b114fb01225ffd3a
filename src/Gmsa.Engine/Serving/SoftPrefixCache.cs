using System.Security.Cryptography;
using Gmsa.Engine.Generation;
using TorchSharp;
using static TorchSharp.torch;

namespace Gmsa.Engine.Serving;

/// <summary>
/// The decoder's keys and values over soft-token prefixes, least recently used first out, bounded in bytes: a second
/// question on the same compressed context prefills its own tokens only, as vLLM's prefix caching does for shared text.
/// Causal attention makes positions 0..n-1 of [soft ; question] the same whatever question follows, so an entry is
/// keyed by what they depend on: the decoder adapter that was on and the soft tokens' dtype, shape and bytes (SHA-256).
/// Lookups and inserts run on the model thread; the counters may be read from any thread.
/// </summary>
public sealed class SoftPrefixCache(long capacityBytes) : IDisposable
{
    sealed record Entry(string Key, (Tensor Keys, Tensor Values)[] Layers, long Bytes);

    readonly LinkedList<Entry> recency = [];                       // most recently used first
    readonly Dictionary<string, LinkedListNode<Entry>> entries = [];
    long bytes, hits, misses, tensors;

    public long CapacityBytes { get; } = capacityBytes > 0 ? capacityBytes : throw new ArgumentOutOfRangeException(nameof(capacityBytes));
    public long Bytes => Volatile.Read(ref bytes);
    public long Hits => Volatile.Read(ref hits);
    public long Misses => Volatile.Read(ref misses);
    public int Count => entries.Count;
    /// <summary>Live tensors the entries hold (two a layer each): what a leak check subtracts from the process's count.</summary>
    public long TensorCount => Volatile.Read(ref tensors);

    /// <summary>The key of <paramref name="soft"/> [n, D] (as the decoder reads it) under <paramref name="adapter"/>.</summary>
    public static string Key(string? adapter, Tensor soft)
    {
        using var scope = NewDisposeScope();
        var host = soft.device_type == DeviceType.CPU ? soft.contiguous() : soft.cpu().contiguous();
        var hash = Convert.ToHexString(SHA256.HashData(host.bytes));
        return $"{adapter ?? "-"}|{soft.dtype}|{string.Join('x', soft.shape)}|{hash}";
    }

    /// <summary>Seeds the empty <paramref name="cache"/> with the prefix stored under <paramref name="key"/>; false on a miss.</summary>
    public bool TrySeed(string key, KvCache cache)
    {
        if (!entries.TryGetValue(key, out var node))
        {
            Interlocked.Increment(ref misses);
            return false;
        }
        cache.Seed(node.Value.Layers);
        recency.Remove(node);
        recency.AddFirst(node);
        Interlocked.Increment(ref hits);
        return true;
    }

    /// <summary>
    /// Stores positions 0..<paramref name="positions"/>-1 of <paramref name="cache"/> under <paramref name="key"/>, evicting the
    /// least recently used entries to stay within <see cref="CapacityBytes"/>; a prefix larger than that is not kept.
    /// </summary>
    public void Add(string key, KvCache cache, long positions)
    {
        if (entries.ContainsKey(key)) return;
        var layers = cache.CopyPrefix(positions);
        long size = layers.Sum(l => l.Keys.NumberOfElements * l.Keys.ElementSize + l.Values.NumberOfElements * l.Values.ElementSize);
        if (size > CapacityBytes)
        {
            Free(layers);
            return;
        }
        while (Bytes + size > CapacityBytes) Evict(recency.Last!);
        entries[key] = recency.AddFirst(new Entry(key, layers, size));
        Interlocked.Add(ref bytes, size);
        Interlocked.Add(ref tensors, 2L * layers.Length);
    }

    void Evict(LinkedListNode<Entry> node)
    {
        recency.Remove(node);
        entries.Remove(node.Value.Key);
        Interlocked.Add(ref bytes, -node.Value.Bytes);
        Interlocked.Add(ref tensors, -2L * node.Value.Layers.Length);
        Free(node.Value.Layers);
    }

    static void Free((Tensor Keys, Tensor Values)[] layers)
    {
        foreach (var (k, v) in layers)
        {
            k.Dispose();
            v.Dispose();
        }
    }

    /// <summary>Frees every entry (on the model thread, as the scheduler does when it stops).</summary>
    public void Dispose()
    {
        while (recency.Last is { } last) Evict(last);
    }
}
