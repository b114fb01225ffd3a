using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Gmsa.Api.Hosting;
using Gmsa.Api.Tests.Infrastructure;
using Gmsa.Engine.Tests.Golden;
using Microsoft.Extensions.DependencyInjection;
using TorchSharp;
using TorchSharp.Modules;

namespace Gmsa.Api.Tests.Hosting;

/// <summary>
/// Real error answers against the document the same service serves: each status is documented for its route, and its
/// body fits the documented schema (every required field, nothing undeclared where the schema is closed). Over
/// stories260K on a loopback Kestrel (the body size limit is Kestrel's), with keys, a rate limit and a 1 s deadline.
/// </summary>
public sealed class SwaggerErrorTests(Stories260kFixture stories) : IClassFixture<Stories260kFixture>
{
    static CancellationToken Token => TestContext.Current.CancellationToken;
    const string Body = """{"prompt": "Once", "max_tokens": 2}""";

    ApiFactory Start() => new ApiFactory(stories.Require(), ("Gmsa:Access:ApiKeys:0", "a"), ("Gmsa:Access:ApiKeys:1", "b"), ("Gmsa:Access:ApiKeys:2", "c"),
        ("Gmsa:Access:RequestsPerMinute", "2"), ("Gmsa:Access:RequestTimeoutSeconds", "1"), ("Gmsa:Serving:MaxRequestBodyBytes", "4096")).StartOnLoopback();

    static HttpClient Client(ApiFactory factory, string? key)
    {
        var client = factory.CreateClient();
        if (key is not null) client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    /// <summary>The answer's status is documented for the route, as problem+json, and its body fits that schema.</summary>
    static async Task<JsonObject> AssertDocumentedAsync(JsonNode document, string method, string route, HttpResponseMessage response, HttpStatusCode expected)
    {
        Assert.Equal(expected, response.StatusCode);
        Assert.Equal(Http.ProblemJson, response.ContentType()?.MediaType);
        var schema = OpenApiSchemas.ResponseSchema(document, method, route, (int)expected, Http.ProblemJson);
        var body = await response.JsonAsync();
        OpenApiSchemas.AssertFits(document, schema, body);
        Assert.Equal((int)expected, (int)body["status"]!);
        Assert.Equal(((int)expected).ToString(System.Globalization.CultureInfo.InvariantCulture), (string)body["error"]!["code"]!);
        return body;
    }

    [Fact]
    public async Task ErrorBodies_401_429_504_MatchTheDocumentedSchema()
    {
        using var factory = Start();
        var document = await OpenApiSchemas.DocumentAsync(factory, Token);

        var unauthorized = await Client(factory, null).PostAsync("/v1/completions", Json(Body), Token);
        await AssertDocumentedAsync(document, "post", "/v1/completions", unauthorized, HttpStatusCode.Unauthorized);
        Assert.Equal("Bearer", unauthorized.Headers.WwwAuthenticate.Single().Scheme);

        var a = Client(factory, "a");
        for (int i = 0; i < 2; i++) Assert.Equal(HttpStatusCode.OK, (await a.GetAsync("/v1/models", Token)).StatusCode);
        var limited = await a.GetAsync("/v1/models", Token);
        Assert.Equal("rate_limit_error", (string)(await AssertDocumentedAsync(document, "get", "/v1/models", limited, HttpStatusCode.TooManyRequests))["error"]!["type"]!);
        Assert.True(limited.Headers.RetryAfter?.Delta > TimeSpan.Zero);

        HttpResponseMessage late;
        using (factory.HoldModel())   // the completion cannot start within its second
            late = await Client(factory, "b").PostAsync("/v1/completions", Json(Body), Token).WaitAsync(TimeSpan.FromSeconds(15), Token);
        Assert.Equal("server_error", (string)(await AssertDocumentedAsync(document, "post", "/v1/completions", late, HttpStatusCode.GatewayTimeout))["error"]!["type"]!);
    }

    [Fact]
    public async Task ErrorBodies_400_413_415_503_MatchTheDocumentedSchema()
    {
        using var factory = Start();
        var document = await OpenApiSchemas.DocumentAsync(factory, Token);
        var client = Client(factory, "c");

        var invalid = await client.PostAsync("/v1/answer", Json("""{"question": "Where?", "max_tokens": 0}"""), Token);
        var problem = await AssertDocumentedAsync(document, "post", "/v1/answer", invalid, HttpStatusCode.BadRequest);
        Assert.Equal((string)problem["error"]!["param"]!, problem["errors"]!.AsObject().First().Key);
        var tooLarge = await client.PostAsync("/v1/chat/completions", Json($$"""{"messages": [{"role": "user", "content": "{{new string('a', 5000)}}"}]}"""), Token);
        await AssertDocumentedAsync(document, "post", "/v1/chat/completions", tooLarge, HttpStatusCode.RequestEntityTooLarge);

        client = Client(factory, "b");
        var form = await client.PostAsync("/v1/compress", new StringContent("contexts=a", Encoding.UTF8, "application/x-www-form-urlencoded"), Token);
        await AssertDocumentedAsync(document, "post", "/v1/compress", form, HttpStatusCode.UnsupportedMediaType);

        factory.Services.GetRequiredService<Draining>().Start();   // what SIGTERM's ApplicationStopping does
        var draining = await Client(factory, "a").GetAsync("/v1/models/any", Token);
        await AssertDocumentedAsync(document, "get", "/v1/models/{id}", draining, HttpStatusCode.ServiceUnavailable);
    }

    [Fact]
    public async Task ErrorBody_500_ForwardFails_MatchesTheDocumentedSchemaAndTheServiceGoesOn()
    {
        using var factory = Start();
        var document = await OpenApiSchemas.DocumentAsync(factory, Token);
        // Break the model from inside: a one-row token embedding, so the next prefill fails on the model thread with
        // libtorch's index error (the prompt's ids are past row 0), as a real fault inside a forward would.
        var embedding = factory.Model.Model.Model.EmbedTokens;
        await factory.Model.Runner.RunAsync(() => embedding.weight = new Parameter(torch.zeros(1, embedding.weight!.shape[1]), requires_grad: false));

        var failed = await Client(factory, "a").PostAsync("/v1/completions", Json(Body), Token).WaitAsync(TimeSpan.FromSeconds(15), Token);
        var body = await AssertDocumentedAsync(document, "post", "/v1/completions", failed, HttpStatusCode.InternalServerError);
        Assert.Equal("server_error", (string)body["error"]!["type"]!);
        Assert.NotNull(body["trace_id"]);
        Assert.Equal(HttpStatusCode.OK, (await Client(factory, "b").GetAsync("/v1/models", Token)).StatusCode);   // the service goes on
    }
}
