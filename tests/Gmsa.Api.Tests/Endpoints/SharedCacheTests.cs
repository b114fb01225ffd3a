using System.Text;
using System.Text.Json.Nodes;
using Gmsa.Api.Hosting;
using Gmsa.Api.Tests.Infrastructure;
using Gmsa.Engine.Tests;
using Microsoft.Extensions.DependencyInjection;

namespace Gmsa.Api.Tests.Endpoints;

/// <summary>Compress once, ask many, across replicas: two services sharing a real redis-server on loopback.</summary>
public sealed class SharedCacheTests
{
    static CancellationToken Token => TestContext.Current.CancellationToken;

    static async Task<JsonObject> PostTo(ApiFactory replica, string route, string json) =>
        await (await replica.CreateClient().PostAsync(route, new StringContent(json, Encoding.UTF8, "application/json"), Token)).JsonAsync();

    [Fact]
    public async Task Redis_TwoReplicas_SecondAnswersTheFirstsIdAndNeverRunsItsEncoder()
    {
        using var redis = RedisServer.Start();
        using var first = new ApiFactory(null, ("Gmsa:Compression:Redis", redis.ConnectionString));
        using var second = new ApiFactory(null, ("Gmsa:Compression:Redis", redis.ConnectionString));
        int secondEncoder = 0;
        second.Services.GetRequiredService<CompressionHost>().Service!.Batcher.BatchCompressed += (n, _) => Interlocked.Add(ref secondEncoder, n);

        var made = (await PostTo(first, "/v1/compress", $$"""{"contexts": ["{{CompressionEndpointTests.Chad}}"]}"""))["data"]![0]!;
        var again = (await PostTo(second, "/v1/compress", $$"""{"contexts": ["{{CompressionEndpointTests.Chad}}"]}"""))["data"]![0]!;
        var answer = await PostTo(second, "/v1/answer", $$"""{"compressed_ids": ["{{(string)made["compressed_id"]!}}"], "question": " Question: What is the capital of Chad? Answer:", "max_tokens": 4}""");

        Assert.False((bool)made["cached"]!);
        Assert.True((bool)again["cached"]!);                     // found in Redis, not in the second replica's memory
        Assert.Equal(CompressionEndpointTests.Floats(made["embedding"]!), CompressionEndpointTests.Floats(again["embedding"]!));
        Assert.Equal(1, (int)answer["compression"]!["cache_hits"]!);
        Assert.Equal(0, secondEncoder);
    }

    [Fact]
    public async Task Redis_GoneAfterStart_RequestsGoOnWithTheInProcessLevelWithoutWaitingForIt()
    {
        // With the client's defaults every miss waited 5 s in its backlog for a connection (76 s once) while Redis was down
        var redis = RedisServer.Start();
        using var service = new ApiFactory(null, ("Gmsa:Compression:Redis", redis.ConnectionString));
        var before = (await PostTo(service, "/v1/compress", $$"""{"contexts": ["{{CompressionEndpointTests.Chad}}"]}"""))["data"]![0]!;
        Assert.Equal("Healthy", await service.CreateClient().GetStringAsync("/health/ready", Token));
        redis.Dispose();

        foreach (var (context, cached) in new[] { (CompressionEndpointTests.Ship, false), (CompressionEndpointTests.Ship, true), (CompressionEndpointTests.Chad, true) })
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var item = (await PostTo(service, "/v1/compress", $$"""{"contexts": ["{{context}}"]}"""))["data"]![0]!;
            Assert.Equal(cached, (bool)item["cached"]!);            // the in-process level still answers
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(4), $"a request waited {clock.Elapsed.TotalSeconds:F1} s for Redis");
        }
        Assert.False((bool)before["cached"]!);
        var ready = await service.CreateClient().GetAsync("/health/ready", Token);     // still ready: Redis is a second level
        Assert.Equal(System.Net.HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal("Degraded", await ready.Content.ReadAsStringAsync(Token));
    }

    [Fact]
    public void RedisLevel_Options_FailFastWithoutAConnectionAndKeepTheUsersTimeouts()
    {
        var options = RedisLevel.Options("127.0.0.1:6379");
        Assert.Equal(StackExchange.Redis.BacklogPolicy.FailFast, options.BacklogPolicy);
        Assert.False(options.AbortOnConnectFail);
        Assert.Equal(2000, options.AsyncTimeout);

        var told = RedisLevel.Options("cache:6379,connectTimeout=9000,asyncTimeout=7000,password=x");
        Assert.Equal(9000, told.ConnectTimeout);
        Assert.Equal(7000, told.AsyncTimeout);
        Assert.Equal("x", told.Password);
    }

    [Fact]
    public async Task Redis_ReplicaWithRetrainedCompressorUnderTheSameNames_MissesAndRunsItsOwnEncoder()
    {
        // The second replica's compressor is the shipped one with one weight changed, in a folder of the same name:
        // soft tokens cached by the first must not be served by it.
        using var root = new TempDir();                             // disposed last, after both services
        var compressor = root.File("compressor");
        CopyTree(RepoFiles.Path("models/gmsa-tiny/compressor"), compressor);
        using (var file = File.Open(Path.Combine(compressor, "alignment.safetensors"), FileMode.Open))
        {
            file.Seek(-1, SeekOrigin.End);                           // the last byte of the last tensor's data
            int last = file.ReadByte();
            file.Seek(-1, SeekOrigin.End);
            file.WriteByte((byte)(last ^ 1));
        }
        using var redis = RedisServer.Start();
        using var first = new ApiFactory(null, ("Gmsa:Compression:Redis", redis.ConnectionString));
        using var second = new ApiFactory(null, ("Gmsa:Compression:Redis", redis.ConnectionString), ("Gmsa:Compression:Compressor", compressor));
        int secondEncoder = 0;
        second.Services.GetRequiredService<CompressionHost>().Service!.Batcher.BatchCompressed += (n, _) => Interlocked.Add(ref secondEncoder, n);
        const string Body = $$"""{"contexts": ["{{CompressionEndpointTests.Chad}}"]}""";

        var made = (await PostTo(first, "/v1/compress", Body))["data"]![0]!;
        var elsewhere = (await PostTo(second, "/v1/compress", Body))["data"]![0]!;

        Assert.False((bool)made["cached"]!);
        Assert.False((bool)elsewhere["cached"]!);
        Assert.NotEqual((string)made["compressed_id"]!, (string)elsewhere["compressed_id"]!);
        Assert.Equal(1, secondEncoder);
    }

    [Fact]
    public void WeightsVersion_Set_StandsInIdsForTheHashOfTheWeightFiles()
    {
        using var hashed = new ApiFactory(null);
        using var release7 = new ApiFactory(null, ("Gmsa:Compression:WeightsVersion", "release-7"));
        using var release8 = new ApiFactory(null, ("Gmsa:Compression:WeightsVersion", "release-8"));
        static CompressionService Of(ApiFactory f) => f.Services.GetRequiredService<CompressionHost>().Service!;

        Assert.Equal("version:release-7", Of(release7).WeightsFingerprint);
        Assert.Matches("^[0-9a-f]{32}$", Of(hashed).WeightsFingerprint);
        string[] ids = [Of(hashed).IdFor("Chad.", 4), Of(release7).IdFor("Chad.", 4), Of(release8).IdFor("Chad.", 4)];
        Assert.Equal(3, ids.Distinct().Count());                    // same weights, three keys: the label is the operator's word
        Assert.Equal(ids[1], Of(release7).IdFor("Chad.", 4));
    }

    static void CopyTree(string from, string to)
    {
        foreach (var dir in Directory.EnumerateDirectories(from, "*", SearchOption.AllDirectories))
            Directory.CreateDirectory(Path.Combine(to, Path.GetRelativePath(from, dir)));
        Directory.CreateDirectory(to);
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
            File.Copy(file, Path.Combine(to, Path.GetRelativePath(from, file)));
    }
}
