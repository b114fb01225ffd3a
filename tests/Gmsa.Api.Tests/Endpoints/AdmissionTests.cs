using System.Net;
using Gmsa.Api.Tests.Infrastructure;
using Gmsa.Engine.Tests.Golden;

namespace Gmsa.Api.Tests.Endpoints;

/// <summary>Overload and batching as a client sees them: each test has its own service with its own limits.</summary>
public sealed class AdmissionTests(Stories260kFixture stories) : IClassFixture<Stories260kFixture>
{
    static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Completion_QueueFull_Returns429ProblemWithRetryAfter()
    {
        using var factory = new ApiFactory(stories.Require(),
            ("Gmsa:Serving:MaxQueuedRequests", "1"), ("Gmsa:Serving:MaxBatchSize", "1"), ("Gmsa:Serving:RetryAfterSeconds", "2"));
        var client = factory.CreateClient();
        Task<HttpResponseMessage> admitted;
        using (factory.HoldModel())
        {
            admitted = client.PostCompletionAsync("""{"prompt": "Once", "max_tokens": 8}""", Token);
            await factory.WaitForInFlightAsync(1);
            var refused = await client.PostCompletionAsync("""{"prompt": "Lily", "max_tokens": 8}""", Token);

            Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
            Assert.Equal(Http.ProblemJson, refused.ContentType()?.MediaType);
            Assert.Equal(TimeSpan.FromSeconds(2), refused.Headers.RetryAfter?.Delta);
            var problem = await refused.JsonAsync();
            Assert.Equal(429, (int)problem["status"]!);
            Assert.Equal("https://tools.ietf.org/html/rfc6585#section-4", (string)problem["type"]!);
            Assert.Equal("Too Many Requests", (string)problem["title"]!);   // was "Too many completions in progress", elsewhere "Too many requests in progress"
            Assert.Contains("MaxQueuedRequests", (string)problem["detail"]!);
        }
        Assert.Equal(HttpStatusCode.OK, (await admitted.WaitAsync(TimeSpan.FromSeconds(30), Token)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.PostCompletionAsync("""{"prompt": "Lily", "max_tokens": 8}""", Token)).StatusCode);
    }

    [Fact]
    public async Task Completion_QueueFull_RefusesBeforeTokenizingAndAnInvalidPromptGivesItsSlotBack()
    {
        using var factory = new ApiFactory(stories.Require(), ("Gmsa:Serving:MaxQueuedRequests", "1"), ("Gmsa:Serving:MaxBatchSize", "1"), ("Gmsa:Serving:MaxPromptTokens", "300"));
        var client = factory.CreateClient();
        // Past MaxPromptTokens (a 400 once tokenized) yet under the character bound: only tokenizing would tell.
        var tooLong = $$"""{"prompt": "{{string.Concat(Enumerable.Repeat("Once upon a time ", 100))}}"}""";
        Task<HttpResponseMessage> admitted;
        using (factory.HoldModel())
        {
            admitted = client.PostCompletionAsync("""{"prompt": "Once", "max_tokens": 4}""", Token);
            await factory.WaitForInFlightAsync(1);
            Assert.Equal(HttpStatusCode.TooManyRequests, (await client.PostCompletionAsync(tooLong, Token)).StatusCode); // admission came first
        }
        Assert.Equal(HttpStatusCode.OK, (await admitted.WaitAsync(TimeSpan.FromSeconds(30), Token)).StatusCode);
        await factory.WaitForInFlightAsync(0);
        Assert.Equal(HttpStatusCode.BadRequest, (await client.PostCompletionAsync(tooLong, Token)).StatusCode);
        Assert.Equal(0, factory.Scheduler.InFlight);                                                        // its slot came back
        Assert.Equal(HttpStatusCode.OK, (await client.PostCompletionAsync("""{"prompt": "Once", "max_tokens": 4}""", Token)).StatusCode);
    }

    [Fact]
    public async Task Completion_ConcurrentRequests_ShareDecodeSteps()
    {
        using var factory = new ApiFactory(stories.Require(), ("Gmsa:Serving:MaxBatchSize", "4"), ("Gmsa:Serving:BatchWindowMilliseconds", "50"));
        var client = factory.CreateClient();
        var batchSizes = new List<int>();
        factory.Scheduler.BatchCompleted += batch => { lock (batchSizes) batchSizes.Add(batch.Size); };
        string[] prompts = ["Once upon a time", "The cat", "Tom and his dog", "Lily saw"];
        Task<HttpResponseMessage>[] sent;
        using (factory.HoldModel())
        {
            sent = prompts.Select(p => client.PostCompletionAsync($$"""{"prompt": "{{p}}", "max_tokens": 16}""", Token)).ToArray();
            await factory.WaitForInFlightAsync(prompts.Length);
        }
        var responses = await Task.WhenAll(sent).WaitAsync(TimeSpan.FromSeconds(30), Token);
        var bodies = await Task.WhenAll(responses.Select(r => r.JsonAsync()));

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        Assert.True(batchSizes.Max() > 1, $"batch sizes {string.Join(", ", batchSizes)}");
        Assert.Contains(bodies, b => (int)b["timings"]!["batch_size"]! > 1);
        // A row's text does not depend on its batch mates (greedy, float32).
        var alone = await (await client.PostCompletionAsync("""{"prompt": "The cat", "max_tokens": 16}""", Token)).JsonAsync();
        Assert.Equal((string)alone["text"]!, (string)bodies[1]["text"]!);
    }
}
