using System.Net;
using Gmsa.Api.Tests.Infrastructure;
using Gmsa.Engine.Tests.Golden;
using TorchSharp;

namespace Gmsa.Api.Tests.Hosting;

/// <summary>Serving must not leak tensors: the model thread's live count is the same before and after 100 requests.</summary>
public sealed class TensorLeakTests(Stories260kFixture stories) : IClassFixture<Stories260kFixture>
{
    [Fact]
    public async Task Completions_HundredRequests_LiveTensorCountStaysFlat()
    {
        var token = TestContext.Current.CancellationToken;
        using var factory = new ApiFactory(stories.Require(), ("Gmsa:Serving:MaxBatchSize", "4"));
        var client = factory.CreateClient();
        long LiveTensors() => factory.Model.Runner.Run(() => DisposeScopeManager.Statistics.ThreadTotalLiveCount);
        // Rows leave at their length, at a stop id, or mid-batch at a stop string (" " ends most rows after a word or two).
        string Request(int i) => i % 2 == 0
            ? $$"""{"prompt": "Once upon a time {{i}}", "max_tokens": {{(i % 4 == 0 ? 4 : 12)}}{{(i % 4 == 2 ? ", \"stop\": \" \"" : "")}}}"""
            : $$"""{"prompt": "Lily saw {{i}}", "max_tokens": 4, "temperature": 0.8, "top_p": 0.9, "repetition_penalty": 1.3, "stream": {{(i % 4 == 1 ? "true" : "false")}}}""";

        Assert.Equal(HttpStatusCode.OK, (await client.PostCompletionAsync(Request(1), token)).StatusCode); // lazily created state
        long before = LiveTensors();
        for (int round = 0; round < 25; round++)
        {
            var responses = await Task.WhenAll(Enumerable.Range(round * 4, 4).Select(i => client.PostCompletionAsync(Request(i), token)));
            Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
            foreach (var r in responses) await r.Content.ReadAsStringAsync(token); // streams run to their end
        }
        Assert.Equal(before, LiveTensors());
    }
}
