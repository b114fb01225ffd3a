using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gmsa.Api.Tests.Infrastructure;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.DependencyInjection;

namespace Gmsa.Api.Tests.Endpoints;

/// <summary>
/// The in-process soft-token cache bounded in bytes (<c>CacheBytes</c>, <c>MaxCachedBytes</c>). One soft token of
/// gmsa-tiny is 384 bf16 values, 768 bytes, and the cache stores each payload behind a 24-byte header.
/// </summary>
public sealed class CacheBoundTests
{
    const string Ship = CompressionEndpointTests.Ship;
    static CancellationToken Token => TestContext.Current.CancellationToken;

    static long Payload(JsonNode item) => 24 + 768L * (int)item["tokens_out"]!;

    static async Task<JsonArray> Compress(ApiFactory service, int rate, params string[] contexts) =>
        (await (await service.CreateClient().PostAsync("/v1/compress",
            new StringContent(JsonSerializer.Serialize(new { contexts, rate, format = "base64-bfloat16" }), Encoding.UTF8, "application/json"),
            Token)).JsonAsync())["data"]!.AsArray();

    /// <summary>
    /// Asks for one context until the answer says it came from the cache. An entry that arrives while the cache is over
    /// its bound is dropped and starts a compaction on the thread pool; on a loaded machine that can take a while, hence
    /// a deadline, not a count.
    /// </summary>
    static async Task<bool> HitsWithinAsync(ApiFactory service, int rate, string context, TimeSpan limit)
    {
        var deadline = DateTime.UtcNow + limit;
        while (DateTime.UtcNow < deadline)
        {
            await Task.Delay(100, Token);
            if ((bool)(await Compress(service, rate, context))[0]!["cached"]!) return true;
        }
        return false;
    }

    [Fact]
    public async Task Cache_BoundInBytes_HoldsAtMostThatManyBytesAndStillHits()
    {
        // A context of ~20 tokens caches ~4.6 kB at 4x: 30 of them overflow a 100,000-byte cache (payloads up to
        // 10,000 bytes kept, so a full cache frees 10 % at once).
        using var bounded = new ApiFactory(null, ("Gmsa:Compression:CacheBytes", "100000"), ("Gmsa:Compression:MaxCachedBytes", "10000"));
        var local = bounded.Services.GetRequiredService<IMemoryCache>();

        var items = await Compress(bounded, 4, Enumerable.Range(0, 30).Select(i => $"{Ship} Day {i}.").ToArray());
        long bytes = items.Sum(item => Payload(item!));
        Assert.True(bytes > 120_000, $"the contexts should overflow the cache, made only {bytes} bytes");
        Assert.InRange(local.GetCurrentStatistics()!.CurrentEstimatedSize!.Value, 1, 100_000);
        Assert.InRange(local.GetCurrentStatistics()!.CurrentEntryCount, 1, 29);

        // A short context (one soft token, under 1 kB): compaction leaves at least 10 % of the bound free, so it fits then.
        const string Probe = "Day 30.";
        var first = (await Compress(bounded, 4, Probe))[0]!;
        bool hit = await HitsWithinAsync(bounded, 4, Probe, TimeSpan.FromSeconds(15));

        Assert.False((bool)first["cached"]!);
        Assert.True(hit);
        Assert.InRange(local.GetCurrentStatistics()!.CurrentEstimatedSize!.Value, 1, 100_000);
    }

    [Fact]
    public async Task Cache_FullAndPayloadAThirdOfTheBound_IsKeptOnALaterTry()
    {
        // A full memory cache drops the entry that overflowed it and frees down to (1 - share) of its bound. With the
        // library's fixed 5 %, a 30 kB payload in a 100 kB cache full of small ones was dropped on every try; the share
        // now follows MaxCachedBytes (40 %), so once a compaction has run the large payload fits.
        using var bounded = new ApiFactory(null, ("Gmsa:Compression:CacheBytes", "100000"), ("Gmsa:Compression:MaxCachedBytes", "40000"));
        var local = bounded.Services.GetRequiredService<IMemoryCache>();

        var small = await Compress(bounded, 4, Enumerable.Range(0, 30).Select(i => $"{Ship} Day {i}.").ToArray());
        Assert.True(small.Sum(item => Payload(item!)) > 120_000, "the small contexts should overflow the cache");

        // Rate 1 keeps one soft token per token: the sentence twice makes a payload of ~30 kB.
        string large = $"{Ship} {Ship}";
        var first = (await Compress(bounded, 1, large))[0]!;
        long payload = Payload(first);
        Assert.InRange(payload, 20_000, 40_000);
        bool hit = await HitsWithinAsync(bounded, 1, large, TimeSpan.FromSeconds(15));

        Assert.False((bool)first["cached"]!);
        Assert.True(hit, $"a {payload}-byte payload was never kept in a full 100,000-byte cache");
        Assert.InRange(local.GetCurrentStatistics()!.CurrentEstimatedSize!.Value, payload, 100_000);
    }
}
