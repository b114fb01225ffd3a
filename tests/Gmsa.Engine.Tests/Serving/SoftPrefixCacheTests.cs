using Gmsa.Engine.Generation;
using Gmsa.Engine.Serving;
using TorchSharp;
using static TorchSharp.torch;

namespace Gmsa.Engine.Tests.Serving;

/// <summary>Keys and least-recently-used eviction of the decoder's keys and values over soft-token prefixes.</summary>
public sealed class SoftPrefixCacheTests
{
    // One layer, one row, one head of 4: a prefix of n positions holds 2 x n x 4 float32 = 32 n bytes.
    static KvCache Filled(int positions, float value)
    {
        var cache = new KvCache(1);
        using var scope = NewDisposeScope();
        cache.Update(0, full(1, 1, positions, 4, value), full(1, 1, positions, 4, -value));
        cache.Advance(positions);
        return cache;
    }

    static float FirstKey(KvCache cache)
    {
        using var scope = NewDisposeScope();
        return cache.CopyPrefix(1)[0].Keys.flatten()[0].item<float>();
    }

    [Fact]
    public void Key_SameBytesAndAdapter_SameKeyAndAnyDifferenceAnother()
    {
        using var scope = NewDisposeScope();
        var soft = arange(12, dtype: ScalarType.Float32).reshape(3, 4);
        string key = SoftPrefixCache.Key("answer", soft);
        Assert.Equal(key, SoftPrefixCache.Key("answer", soft.clone()));
        Assert.NotEqual(key, SoftPrefixCache.Key("restate", soft));
        Assert.NotEqual(key, SoftPrefixCache.Key(null, soft));
        Assert.NotEqual(key, SoftPrefixCache.Key("answer", soft.reshape(4, 3)));                        // same bytes, other shape
        Assert.NotEqual(key, SoftPrefixCache.Key("answer", soft.to(ScalarType.BFloat16)));
        var nudged = soft.clone();
        nudged[2, 3] = tensor(11.5f);
        Assert.NotEqual(key, SoftPrefixCache.Key("answer", nudged));
        Assert.Equal(key, SoftPrefixCache.Key("answer", soft.t().contiguous().t()));                     // layout is not content
    }

    [Fact]
    public void Add_ThirdPrefixOverCapacity_EvictsTheLeastRecentlyUsedAndCountsHitsAndMisses()
    {
        using var cache = new SoftPrefixCache(capacityBytes: 2 * 32 * 3);   // two prefixes of 3 positions
        using (var a = Filled(3, 1)) cache.Add("a", a, 3);
        using (var b = Filled(3, 2)) cache.Add("b", b, 3);
        Assert.Equal(2 * 32 * 3, cache.Bytes);
        using (var seeded = new KvCache(1)) Assert.True(cache.TrySeed("a", seeded));      // "a" is now the most recent
        using (var c = Filled(3, 3)) cache.Add("c", c, 3);

        Assert.Equal(2, cache.Count);
        using var missed = new KvCache(1);
        Assert.False(cache.TrySeed("b", missed));
        Assert.Equal(0, missed.Length);
        using var hit = new KvCache(1);
        Assert.True(cache.TrySeed("a", hit));
        Assert.Equal(3, hit.Length);
        Assert.Equal(1f, FirstKey(hit));
        Assert.Equal((2, 1), (cache.Hits, cache.Misses));
    }

    [Fact]
    public void Add_PrefixLargerThanTheWholeCache_IsNotKeptAndEvictsNothing()
    {
        using var cache = new SoftPrefixCache(capacityBytes: 32 * 4);
        using (var small = Filled(2, 1)) cache.Add("small", small, 2);
        using (var large = Filled(5, 2)) cache.Add("large", large, 5);
        Assert.Equal(1, cache.Count);
        Assert.Equal(32 * 2, cache.Bytes);
        using var seeded = new KvCache(1);
        Assert.True(cache.TrySeed("small", seeded));
    }

    [Fact]
    public void Dispose_HeldPrefixes_LiveTensorCountBackToBefore()
    {
        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        var cache = new SoftPrefixCache(capacityBytes: 1 << 20);
        for (int i = 0; i < 5; i++)
            using (var filled = Filled(3, i)) cache.Add($"p{i}", filled, 3);
        Assert.Equal(before + cache.TensorCount, DisposeScopeManager.Statistics.ThreadTotalLiveCount);   // 5 prefixes x 1 layer x (k, v)
        Assert.Equal(10, cache.TensorCount);
        cache.Dispose();
        Assert.Equal(0, cache.TensorCount);
        Assert.Equal(0, cache.Bytes);
        Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }
}
