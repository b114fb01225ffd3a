using System.Net;
using System.Text.Json.Nodes;
using Gmsa.Api.Tests.Infrastructure;

namespace Gmsa.Api.Tests.Endpoints;

/// <summary>Everything around completions: models, health, metrics, the OpenAPI document, unknown routes.</summary>
public sealed class ServiceEndpointTests(ServiceFixture service) : IClassFixture<ServiceFixture>
{
    static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Models_List_DescribesTheLoadedModel()
    {
        var response = await service.Factory.CreateClient().GetAsync("/v1/models", Token);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var model = (await response.JsonAsync())["data"]!.AsArray().Single()!;
        Assert.Equal(Path.GetFileName(service.ModelDir), (string)model["id"]!);
        Assert.Equal("llama", (string)model["family"]!);
        Assert.Equal(service.Factory.Model.Runner.Run(() => service.Factory.Model.Model.ParameterCount()), (long)model["parameters"]!);
        Assert.Equal(512, (int)model["context_length"]!);
        Assert.Equal(512, (int)model["vocab_size"]!);
        Assert.Equal("float32", (string)model["dtype"]!);
        Assert.Equal("cpu", (string)model["device"]!);
        Assert.StartsWith("SentencePiece", (string)model["tokenizer"]!);
    }

    [Fact]
    public async Task Models_UnknownId_Returns404Problem()
    {
        var response = await service.Factory.CreateClient().GetAsync("/v1/models/gpt-5", Token);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal(Http.ProblemJson, response.ContentType()?.MediaType);
        Assert.Contains(Path.GetFileName(service.ModelDir), (string)(await response.JsonAsync())["detail"]!);
    }

    [Theory]
    [InlineData("/health")]
    [InlineData("/health/ready")]
    [InlineData("/health/live")]
    [InlineData("/alive")]
    public async Task Probe_ModelLoaded_AnswersHealthy(string path)
    {
        var response = await service.Factory.CreateClient().GetAsync(path, Token);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Healthy", await response.Content.ReadAsStringAsync(Token));
    }

    [Fact]
    public async Task Metrics_AfterACompletion_ExposeGenerationHistograms()
    {
        var client = service.Factory.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await client.PostCompletionAsync("""{"prompt": "Once", "max_tokens": 4}""", Token)).StatusCode);
        var text = await client.GetStringAsync("/metrics", Token);

        foreach (var name in new[]
                 {
                     "gmsa_completion_duration_seconds_bucket", "gmsa_queue_wait_seconds_bucket", "gmsa_prefill_duration_seconds_bucket",
                     "gmsa_decode_tokens_per_second_bucket", "gmsa_batch_size_bucket", "gmsa_tokens_total", "gmsa_requests_in_flight",
                     "http_server_request_duration_seconds_bucket",
                 })
            Assert.Contains(name, text);
    }

    [Fact]
    public async Task Metrics_BeforeAny429_ExposeTheRejectedCounterAtZero()
    {
        using var fresh = new ApiFactory(service.ModelDir);
        var text = await fresh.CreateClient().GetStringAsync("/metrics", Token);

        Assert.Matches(@"(?m)^gmsa_completions_rejected_total(\{[^}]*\})? 0( |$)", text);
    }

    [Fact]
    public async Task Swagger_Document_DescribesCompletionBodiesAndErrors()
    {
        var client = service.Factory.CreateClient();
        var document = JsonNode.Parse(await client.GetStringAsync("/swagger/v1/swagger.json", Token))!;
        var responses = document["paths"]!["/v1/completions"]!["post"]!["responses"]!.AsObject();

        Assert.Equal(["200", "400", "413", "415", "429", "500", "503", "504"], responses.Select(r => r.Key).Order());
        Assert.Equal(["application/json", "text/event-stream"], responses["200"]!["content"]!.AsObject().Select(c => c.Key).Order());
        Assert.All(["400", "413", "415", "429", "500", "503", "504"], code => Assert.NotNull(responses[code]!["content"]!["application/problem+json"]));
        var request = document["components"]!["schemas"]!["CompletionRequest"]!["properties"]!.AsObject();
        Assert.Equal(["frequency_penalty", "max_tokens", "n", "presence_penalty", "prompt", "repetition_penalty", "seed", "stop", "stream",
                      "temperature", "top_k", "top_p"], request.Select(p => p.Key).Order());
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/swagger/index.html", Token)).StatusCode);
    }

    [Fact]
    public async Task UnknownRoute_Returns404Problem()
    {
        var response = await service.Factory.CreateClient().GetAsync("/v2/nothing", Token);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal(Http.ProblemJson, response.ContentType()?.MediaType);
    }
}
