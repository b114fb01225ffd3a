using System.Net;
using System.Net.ServerSentEvents;
using System.Text;
using Gmsa.Api.Tests.Infrastructure;
using Gmsa.Engine.Generation;
using Gmsa.Engine.Tests.Golden;

namespace Gmsa.Api.Tests.Endpoints;

/// <summary>
/// The service on a real Kestrel socket (127.0.0.1, ephemeral port) with HttpClient: what TestServer does not
/// exercise (the body size limit, a client closing its connection mid-stream, bytes on the wire).
/// One slot, so a slot that is not given back shows up as a 429.
/// </summary>
public sealed class LoopbackServerTests : IClassFixture<Stories260kFixture>, IDisposable
{
    static CancellationToken Token => TestContext.Current.CancellationToken;
    readonly Stories260kFixture stories;
    ApiFactory? factory;

    public LoopbackServerTests(Stories260kFixture stories) => this.stories = stories;

    ApiFactory Server => factory ??= new ApiFactory(stories.Require(),
        ("Gmsa:Serving:MaxQueuedRequests", "1"), ("Gmsa:Serving:MaxBatchSize", "1"), ("Gmsa:Serving:MaxRequestBodyBytes", "4096")).StartOnLoopback();

    [Fact]
    public async Task Completion_OverLoopback_EqualsEngineCompleteAsync()
    {
        var client = Server.CreateClient();
        Assert.Equal("127.0.0.1", client.BaseAddress?.Host);
        var response = await client.PostCompletionAsync("""{"prompt": "Tom and his dog went to the", "max_tokens": 30}""", Token);
        var engine = await Server.Model.CompleteAsync(["Tom and his dog went to the"], new SamplingOptions { MaxNewTokens = 30 }, cancellation: Token);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(engine.Texts[0], (string)(await response.JsonAsync())["text"]!);
    }

    [Fact]
    public async Task Completion_StreamOverLoopback_ConcatenatesToEngineText()
    {
        var client = Server.CreateClient();
        using var response = await client.PostStreamingAsync("""{"prompt": "Once upon a time", "max_tokens": 25, "stream": true}""", Token);
        var events = await response.EventsAsync(Token);
        var engine = await Server.Model.CompleteAsync(["Once upon a time"], new SamplingOptions { MaxNewTokens = 25 }, cancellation: Token);

        Assert.Equal(engine.Texts[0], string.Concat(events.Select(e => (string)e["text"]!)));
        Assert.Equal(25, (int)events[^1]["usage"]!["completion_tokens"]!);
    }

    [Fact]
    public async Task Completion_BodyPastSizeLimit_Returns413Problem()
    {
        var client = Server.CreateClient();
        var json = $$"""{"prompt": "{{new string('a', 10_000)}}"}""";
        var response = await client.PostAsync("/v1/completions", new StringContent(json, Encoding.UTF8, "application/json"), Token);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal(Http.ProblemJson, response.ContentType()?.MediaType);
        Assert.Equal(413, (int)(await response.JsonAsync())["status"]!);
    }

    [Fact]
    public async Task Completion_ClientClosesMidStream_FreesItsSlot()
    {
        var client = Server.CreateClient();
        using (var leaving = new CancellationTokenSource())
        {
            var response = await client.PostStreamingAsync("""{"prompt": "Once upon a time", "max_tokens": 400, "stream": true}""", leaving.Token);
            var body = await response.Content.ReadAsStreamAsync(Token);
            await using var events = SseParser.Create(body).EnumerateAsync(Token).GetAsyncEnumerator();
            Assert.True(await events.MoveNextAsync()); // generation is under way and holds the only slot
            Assert.Equal(1, Server.Scheduler.InFlight);
            leaving.Cancel();
            response.Dispose(); // closes the connection
        }
        await Server.WaitForInFlightAsync(0);

        var next = await client.PostCompletionAsync("""{"prompt": "Lily", "max_tokens": 5}""", Token);
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
    }

    public void Dispose() => factory?.Dispose();
}
