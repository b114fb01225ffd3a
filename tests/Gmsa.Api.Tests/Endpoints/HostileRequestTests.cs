using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Gmsa.Api.Tests.Infrastructure;
using TorchSharp;

namespace Gmsa.Api.Tests.Endpoints;

[CollectionDefinition(nameof(TensorCountCollection), DisableParallelization = true)]
public sealed class TensorCountCollection;

/// <summary>
/// Malformed and hostile requests against every route of the embedded gmsa-tiny service: each gets a 4xx problem,
/// never a 5xx; and many served requests leave no live tensors behind. Runs alone: it counts the process's tensors.
/// </summary>
[Collection(nameof(TensorCountCollection))]
public sealed class HostileRequestTests : IDisposable
{
    readonly ApiFactory factory = new(modelDir: null, ("Gmsa:Serving:MaxRequestBodyBytes", "65536"));
    static CancellationToken Token => TestContext.Current.CancellationToken;

    static readonly string[] Routes = ["/v1/completions", "/v1/chat/completions", "/v1/compress", "/v1/answer", "/v1/reconstruct"];

    /// <summary>Bodies that are wrong for every route, sent to each: 5 routes x 12 bodies.</summary>
    static readonly string[] WrongEverywhere =
    [
        "",                                              // no body
        "{",                                             // broken JSON
        "{\"prompt\": \"a\",}",                          // trailing comma
        "[1, 2, 3]",                                     // an array, not an object
        "\"just a string\"",
        "null",
        "{\"max_tokens\": 1e400}",                       // a number no double holds
        "{\"max_tokens\": 99999999999999999999}",        // past int
        "{\"rate\": \"4\", \"contexts\": [\"a\"]}",      // a number as a string
        "{\"temperature\": true, \"prompt\": \"a\"}",    // a bool where a number belongs
        new string('[', 5000) + new string(']', 5000),   // nesting past the reader's depth limit
        "{\"prompt\": {\"nested\": [\"object\"]}, \"messages\": 5, \"contexts\": {}, \"question\": 1, \"compressed_id\": []}",
    ];

    public static TheoryData<string, string> Cases()
    {
        var cases = new TheoryData<string, string>();
        foreach (var route in Routes)
            foreach (var body in WrongEverywhere) cases.Add(route, body);
        cases.Add("/v1/completions", "{\"prompt\": \"a\", \"max_tokens\": -5}");
        cases.Add("/v1/completions", "{\"prompt\": \"a\", \"max_tokens\": 100000000}");
        cases.Add("/v1/chat/completions", "{\"messages\": [{\"role\": \"user\"}]}");
        cases.Add("/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"a\"}], \"max_tokens\": 2000000}");
        cases.Add("/v1/compress", "{\"contexts\": [\"a\"], \"rate\": 100000}");
        cases.Add("/v1/compress", "{\"contexts\": [null]}");
        cases.Add("/v1/answer", "{\"compressed_ids\": [\"cmp-" + new string('f', 32) + "\"], \"question\": \"q\"}");
        cases.Add("/v1/answer", "{\"contexts\": [\"a\"], \"question\": \"q\", \"max_tokens\": 5000}");   // past the decoder's context
        cases.Add("/v1/reconstruct", "{\"compressed_id\": \"cmp-x\", \"context\": \"y\"}");
        return cases;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task HostileBody_Answers4xxProblemNever5xx(string route, string body)
    {
        var response = await factory.CreateClient().PostAsync(route, new StringContent(body, Encoding.UTF8, "application/json"), Token);
        Assert.InRange((int)response.StatusCode, 400, 499);
        Assert.Equal(Http.ProblemJson, response.ContentType()?.MediaType);
    }

    [Theory]
    [InlineData("/v1/completions")]
    [InlineData("/v1/compress")]
    public async Task InvalidUtf8OversizeAndWrongMediaType_4xx(string route)
    {
        var client = factory.CreateClient();
        var invalid = new ByteArrayContent([(byte)'{', (byte)'"', (byte)'p', (byte)'"', (byte)':', (byte)'"', 0xFF, 0xFE, 0xC3, (byte)'"', (byte)'}']);
        invalid.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        var oversize = new StringContent("{\"prompt\": \"" + new string('a', 70_000) + "\"}", Encoding.UTF8, "application/json");
        foreach (var content in new HttpContent[] { invalid, oversize, new StringContent("prompt=a", Encoding.UTF8, "text/plain") })
        {
            var response = await client.PostAsync(route, content, Token);
            Assert.InRange((int)response.StatusCode, 400, 499);
        }
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/v1/models/not-this-one", Token)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/v1/nothing-here", Token)).StatusCode);
    }

    [Fact]
    public async Task ManyRequests_EveryKind_LiveTensorCountStaysFlat()
    {
        var client = factory.CreateClient();
        async Task Round(int i)
        {
            var context = $"Document {i}: the capital of Chad is N'Djamena and its currency is the CFA franc.";
            foreach (var (route, body) in new[]
                     {
                         ("/v1/completions", $$"""{"prompt": "The ship {{i}}", "max_tokens": 6, "temperature": 0.7, "seed": {{i}}}"""),
                         ("/v1/compress", $$"""{"contexts": ["{{context}}"]}"""),
                         ("/v1/answer", $$"""{"contexts": ["{{context}}"], "question": " Capital?", "max_tokens": 4}"""),
                         ("/v1/chat/completions", $$"""{"messages": [{"role": "user", "content": "Hi {{i}}"}], "documents": ["{{context}}"], "max_tokens": 4, "stream": true}"""),
                     })
                Assert.Equal(HttpStatusCode.OK, (await client.PostAsync(route, new StringContent(body, Encoding.UTF8, "application/json"), Token)).StatusCode);
        }
        await Round(0);
        // Earlier tests' dropped tensors are released by finalizers at any time, which would move the mark down mid-test;
        // run them now. None is forced after the rounds: a tensor the rounds drop without disposing still counts there.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        // Soft-token tensors are released when their generation completes; the decoder's keys and values over each new
        // soft prefix stay in the bounded prefix cache on purpose, so its own tensors are counted apart.
        var prefixes = factory.Scheduler.SoftPrefixes!;
        long before = await SettledTensorCountAsync() - prefixes.TensorCount;
        for (int i = 1; i <= 10; i++) await Round(i);
        Assert.True(prefixes.TensorCount > 0);
        Assert.Equal(before, await SettledTensorCountAsync(before + prefixes.TensorCount) - prefixes.TensorCount);
    }

    /// <summary>
    /// The live-tensor count once releases that follow a response have run: the count reaches <paramref name="target"/>,
    /// or holds still for 300 ms; at most 10 s, so a leak still shows on a loaded machine but fails in bounded time.
    /// </summary>
    static async Task<long> SettledTensorCountAsync(long? target = null)
    {
        var total = Stopwatch.StartNew();
        var still = Stopwatch.StartNew();
        long last = torch.Tensor.TotalCount;
        while (total.Elapsed < TimeSpan.FromSeconds(10))
        {
            if (target is { } t ? last == t : still.Elapsed >= TimeSpan.FromMilliseconds(300)) break;
            await Task.Delay(50, Token);
            long now = torch.Tensor.TotalCount;
            if (now == last) continue;
            last = now;
            still.Restart();
        }
        return last;
    }

    public void Dispose() => factory.Dispose();
}
