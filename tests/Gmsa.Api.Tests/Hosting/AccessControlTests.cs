using System.Net;
using System.Net.Http.Headers;
using System.Threading.RateLimiting;
using Gmsa.Api.Hosting;
using Gmsa.Api.Tests.Infrastructure;
using Gmsa.Engine.Tests.Golden;
using Microsoft.Extensions.DependencyInjection;

namespace Gmsa.Api.Tests.Hosting;

/// <summary>API keys, per-key rate limits, deadlines and draining, over stories260K on the in-memory server.</summary>
public sealed class AccessControlTests(Stories260kFixture stories) : IClassFixture<Stories260kFixture>
{
    static CancellationToken Token => TestContext.Current.CancellationToken;
    const string Body = """{"prompt": "Once", "max_tokens": 2}""";

    static HttpClient WithKey(ApiFactory factory, string? key)
    {
        var client = factory.CreateClient();
        if (key is not null) client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    [Fact]
    public async Task ApiKeys_MissingOrWrong_401WithBearerChallengeAndRightOnePasses()
    {
        using var factory = new ApiFactory(stories.Require(), ("Gmsa:Access:ApiKeys:0", "first-key"), ("Gmsa:Access:ApiKeys:1", "second-key"));

        var none = await WithKey(factory, null).PostCompletionAsync(Body, Token);
        Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        Assert.Equal("Bearer", none.Headers.WwwAuthenticate.Single().Scheme);
        Assert.Equal("authentication_error", (string)(await none.JsonAsync())["error"]!["type"]!);
        Assert.Equal(HttpStatusCode.Unauthorized, (await WithKey(factory, "first-keyX").PostCompletionAsync(Body, Token)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await WithKey(factory, "first").PostCompletionAsync(Body, Token)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await WithKey(factory, "second-key").PostCompletionAsync(Body, Token)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await WithKey(factory, null).GetAsync("/health/ready", Token)).StatusCode);   // probes need no key
    }

    [Fact]
    public async Task RateLimit_PerKey_429WithRetryAfterWhileOtherKeysPass()
    {
        using var factory = new ApiFactory(stories.Require(), ("Gmsa:Access:ApiKeys:0", "a"), ("Gmsa:Access:ApiKeys:1", "b"), ("Gmsa:Access:RequestsPerMinute", "2"));
        for (int i = 0; i < 2; i++) Assert.Equal(HttpStatusCode.OK, (await WithKey(factory, "a").PostCompletionAsync(Body, Token)).StatusCode);

        var limited = await WithKey(factory, "a").PostCompletionAsync(Body, Token);
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(30), limited.Headers.RetryAfter?.Delta);   // two a minute: one comes back every 30 s
        Assert.Equal(Http.ProblemJson, limited.ContentType()?.MediaType);
        var problem = await limited.JsonAsync();
        Assert.Contains("at most 2 requests a minute per API key", (string)problem["detail"]!);
        Assert.Equal("https://tools.ietf.org/html/rfc6585#section-4", (string)problem["type"]!);   // it had none
        Assert.Equal("Too Many Requests", (string)problem["title"]!);
        Assert.Equal("rate_limit_error", (string)problem["error"]!["type"]!);
        foreach (var spelling in new[] { "bearer a", "BEARER a", "Bearer  a " })   // each spelling had a bucket of its own
        {
            var client = factory.CreateClient();
            client.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", spelling);
            Assert.Equal(HttpStatusCode.TooManyRequests, (await client.PostCompletionAsync(Body, Token)).StatusCode);
        }
        Assert.Equal(HttpStatusCode.OK, (await WithKey(factory, "b").PostCompletionAsync(Body, Token)).StatusCode);
    }

    [Theory]
    [InlineData(1, 1, 60_000)]        // one a minute: one permit back every minute
    [InlineData(2, 1, 30_000)]
    [InlineData(60, 1, 1_000)]
    [InlineData(100, 2, 1_200)]       // above 60 a minute, portions a second or more apart: 2 every 1.2 s is 100 a minute
    [InlineData(1_000_000, 16_667, 1_000)]
    public void Bucket_RequestsPerMinute_NAtOnceThenNAMinuteInPortions(int perMinute, int perPortion, int periodMs)
    {
        var bucket = AccessControl.Bucket(perMinute);

        Assert.Equal(perMinute, bucket.TokenLimit);
        Assert.Equal(perPortion, bucket.TokensPerPeriod);
        Assert.Equal(periodMs, bucket.ReplenishmentPeriod.TotalMilliseconds, 0.5);
        Assert.Equal(0, bucket.QueueLimit);
    }

    [Fact]
    public void RetryAfterSeconds_RealLimiters_LeaseMetadataRoundedUpElseTheWindow()
    {
        // the service's bucket at 3 a minute, all 3 taken: the refusal's lease says when the next permit comes (in 20 s,
        // none refilled yet: the partitions are refilled by their owner's timer, not on their own)
        var options = AccessControl.Bucket(3);
        options.AutoReplenishment = false;
        using var bucket = new TokenBucketRateLimiter(options);
        using var taken = bucket.AttemptAcquire(3);
        using var refused = bucket.AttemptAcquire();
        // a fixed window of 1.5 s, its one permit taken: the lease says the whole window, rounded up to whole seconds
        using var window = new FixedWindowRateLimiter(new FixedWindowRateLimiterOptions { PermitLimit = 1, Window = TimeSpan.FromMilliseconds(1500), QueueLimit = 0 });
        using var windowTaken = window.AttemptAcquire();
        using var windowRefused = window.AttemptAcquire();
        // a concurrency limiter's refusal carries no RetryAfter: the configured window stands in
        using var concurrency = new ConcurrencyLimiter(new ConcurrencyLimiterOptions { PermitLimit = 1, QueueLimit = 0 });
        using var held = concurrency.AttemptAcquire();
        using var busy = concurrency.AttemptAcquire();

        Assert.True(taken.IsAcquired);
        Assert.False(refused.IsAcquired);
        Assert.True(refused.TryGetMetadata(MetadataName.RetryAfter, out _));
        Assert.Equal(20, AccessControl.RetryAfterSeconds(refused, AccessControl.Window));
        Assert.True(windowTaken.IsAcquired);
        Assert.False(windowRefused.IsAcquired);
        Assert.Equal(2, AccessControl.RetryAfterSeconds(windowRefused, AccessControl.Window));
        Assert.False(busy.IsAcquired);
        Assert.False(busy.TryGetMetadata(MetadataName.RetryAfter, out _));
        Assert.Equal(60, AccessControl.RetryAfterSeconds(busy, AccessControl.Window));
        Assert.Equal(3, AccessControl.RetryAfterSeconds(busy, TimeSpan.FromMilliseconds(2001)));
    }

    [Fact]
    public async Task Deadline_RequestWaitingTooLong_504AndItsSlotIsFree()
    {
        using var factory = new ApiFactory(stories.Require(), ("Gmsa:Access:RequestTimeoutSeconds", "1"));
        var client = factory.CreateClient();
        HttpResponseMessage late;
        using (factory.HoldModel())                                   // the request cannot start within its second
            late = await client.PostCompletionAsync(Body, Token).WaitAsync(TimeSpan.FromSeconds(15), Token);

        Assert.Equal(HttpStatusCode.GatewayTimeout, late.StatusCode);
        Assert.Contains("took too long", (string)(await late.JsonAsync())["detail"]!);
        await factory.WaitForInFlightAsync(0);
        Assert.Equal(HttpStatusCode.OK, (await client.PostCompletionAsync(Body, Token)).StatusCode);
    }

    [Fact]
    public async Task Deadline_StreamPastIt_EndsWithATimeoutErrorEventAndItsSlotIsFree()
    {
        // the middleware's 504 cannot reach a stream whose 200 has started, and its cancellation of RequestAborted also
        // cancelled the write that would say why: the stream ended without a word and the log had three stack traces
        using var factory = new ApiFactory(stories.Require(), ("Gmsa:Access:RequestTimeoutSeconds", "1"));
        var client = factory.CreateClient();
        HttpResponseMessage response;
        Task<List<System.Text.Json.Nodes.JsonObject>> events;
        using (factory.HoldModel())                                   // its generation cannot finish within its second
        {
            response = await client.PostStreamingAsync("""{"prompt": "Once upon a time", "max_tokens": 200, "stream": true}""", Token)
                .WaitAsync(TimeSpan.FromSeconds(15), Token);
            events = response.EventsAsync(Token).WaitAsync(TimeSpan.FromSeconds(15), Token);
            await Task.Delay(1500, Token);
        }

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var error = (await events)[^1]["error"]!;
        Assert.Equal("timeout_error", (string)error["type"]!);
        Assert.Contains("Gmsa:Access:RequestTimeoutSeconds", (string)error["message"]!);
        await factory.WaitForInFlightAsync(0);
        Assert.Equal(HttpStatusCode.OK, (await client.PostCompletionAsync(Body, Token)).StatusCode);
    }

    [Fact]
    public async Task Draining_InFlightRequestFinishesAndNewOnesGet503()
    {
        using var factory = new ApiFactory(stories.Require());
        var client = factory.CreateClient();
        Task<HttpResponseMessage> inFlight;
        using (factory.HoldModel())
        {
            inFlight = client.PostCompletionAsync(Body, Token);
            await factory.WaitForInFlightAsync(1);
            factory.Services.GetRequiredService<Draining>().Start();   // what SIGTERM's ApplicationStopping does
            var refused = await client.PostCompletionAsync(Body, Token);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/live", Token)).StatusCode);
        }
        Assert.Equal(HttpStatusCode.OK, (await inFlight.WaitAsync(TimeSpan.FromSeconds(30), Token)).StatusCode);
    }
}
