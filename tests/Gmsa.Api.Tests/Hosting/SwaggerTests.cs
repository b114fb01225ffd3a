using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Gmsa.Api.Tests.Infrastructure;

namespace Gmsa.Api.Tests.Hosting;

/// <summary>
/// The served OpenAPI document (/swagger/v1/swagger.json) against what the service does: request schemas as the
/// handlers read them, every status a route can answer, and the bodies those statuses carry. Over stories260K.
/// </summary>
public sealed class SwaggerTests(ServiceFixture service) : IClassFixture<ServiceFixture>
{
    static CancellationToken Token => TestContext.Current.CancellationToken;

    static readonly string[] RequestSchemas = ["CompletionRequest", "ChatRequest", "ChatRequestMessage", "ChatStreamOptions", "AnswerRequest", "CompressRequest", "ReconstructRequest"];

    static Task<JsonNode> DocumentAsync(ApiFactory factory) => OpenApiSchemas.DocumentAsync(factory, Token);

    static JsonObject Schema(JsonNode document, string name) => document["components"]!["schemas"]![name]!.AsObject();

    [Fact]
    public async Task SwaggerDocument_RequestSchemas_DoNotForbidUnknownFields()
    {
        var document = await DocumentAsync(service.Factory);

        // Swashbuckle wrote additionalProperties: false on every object: a generated client refused OpenAI's extra fields
        Assert.All(RequestSchemas, name => Assert.NotEqual(false, (bool?)Schema(document, name)["additionalProperties"]));
        Assert.Equal(false, (bool?)Schema(document, "CompletionResponse")["additionalProperties"]);   // responses are as the service writes them
        var chat = await service.Factory.CreateClient().PostAsync("/v1/chat/completions", new StringContent(
            """{"messages": [{"role": "user", "content": "Once", "name": "ann"}], "max_tokens": 2, "user": "u-1", "stream_options": {"include_usage": false, "x": 1}}""",
            Encoding.UTF8, "application/json"), Token);
        Assert.Equal(HttpStatusCode.OK, chat.StatusCode);   // and the service does ignore them
    }

    [Fact]
    public async Task SwaggerDocument_StreamOptionsIncludeUsage_IsOptionalWithDefaultFalse()
    {
        var options = Schema(await DocumentAsync(service.Factory), "ChatStreamOptions");

        Assert.DoesNotContain("include_usage", options["required"]?.AsArray().Select(r => (string)r!) ?? []);
        Assert.False((bool)options["properties"]!["include_usage"]!["default"]!);
    }

    [Theory]
    [InlineData("CompletionRequest", "max_tokens")]
    [InlineData("ChatRequest", "max_tokens")]
    [InlineData("ChatRequest", "max_completion_tokens")]
    [InlineData("AnswerRequest", "max_tokens")]
    [InlineData("ReconstructRequest", "max_tokens")]
    public async Task SwaggerDocument_MaxTokens_BoundedByMaxNewTokensOnEveryRoute(string schema, string field)
    {
        var property = Schema(await DocumentAsync(service.Factory), schema)["properties"]![field]!;

        Assert.Equal(400, (int)property["maximum"]!);   // Gmsa:Serving:MaxNewTokens of this fixture
        Assert.Equal(1, (int)property["minimum"]!);
    }

    [Fact]
    public async Task Chat_MaxCompletionTokensPastTheDocumentedMaximum_Returns400()
    {
        var response = await service.Factory.CreateClient().PostAsync("/v1/chat/completions", new StringContent(
            """{"messages": [{"role": "user", "content": "Once"}], "max_completion_tokens": 401}""", Encoding.UTF8, "application/json"), Token);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.NotNull((await response.JsonAsync())["errors"]!["max_completion_tokens"]);
    }

    static readonly (string Method, string Route)[] Routes =
    [
        ("post", "/v1/completions"), ("post", "/v1/chat/completions"), ("post", "/v1/compress"), ("post", "/v1/answer"), ("post", "/v1/reconstruct"),
        ("get", "/v1/models"), ("get", "/v1/models/{id}"),
    ];

    static string[] Statuses(JsonNode document, string method, string route) =>
        document["paths"]![route]![method]!["responses"]!.AsObject().Select(r => r.Key).Order().ToArray();

    [Fact]
    public async Task SwaggerDocument_EveryRoute_DocumentsItsErrorStatuses()
    {
        // no API keys and no rate limit in this fixture: no 401, and 429 only where a full queue answers it; deadlines on (300 s)
        var document = await DocumentAsync(service.Factory);

        string[] generating = ["200", "400", "413", "415", "429", "500", "503", "504"], compressing = ["200", "400", "404", "413", "415", "429", "500", "503", "504"];
        Assert.Equal(generating, Statuses(document, "post", "/v1/completions"));
        Assert.Equal(generating, Statuses(document, "post", "/v1/chat/completions"));   // it never answers 404: any model name is served
        Assert.All(["/v1/compress", "/v1/answer", "/v1/reconstruct"], route => Assert.Equal(compressing, Statuses(document, "post", route)));
        Assert.Equal(["200", "500", "503"], Statuses(document, "get", "/v1/models"));
        Assert.Equal(["200", "404", "500", "503"], Statuses(document, "get", "/v1/models/{id}"));
        foreach (var (method, route) in Routes)
            foreach (var (status, response) in document["paths"]![route]![method]!["responses"]!.AsObject().Where(r => r.Key != "200"))
                Assert.Contains((string)response!["content"]!["application/problem+json"]!["schema"]!["$ref"]!,
                    new[] { "#/components/schemas/ProblemDetails", "#/components/schemas/HttpValidationProblemDetails" });
        Assert.Contains("Retry-After", document["paths"]!["/v1/completions"]!["post"]!["responses"]!["429"]!["headers"]!.AsObject().Select(h => h.Key));
    }

    [Fact]
    public async Task SwaggerDocument_WithKeysRateLimitAndNoDeadline_DocumentsBearerScheme401And429EverywhereAndNo504()
    {
        using var factory = new ApiFactory(service.ModelDir, [.. ServiceFixture.Settings, ("Gmsa:Access:ApiKeys:0", "k"),
            ("Gmsa:Access:RequestsPerMinute", "60"), ("Gmsa:Access:RequestTimeoutSeconds", "0")]);
        var document = await DocumentAsync(factory);   // the document itself needs no key

        foreach (var (method, route) in Routes)
        {
            var statuses = Statuses(document, method, route);
            Assert.Contains("401", statuses);
            Assert.Contains("429", statuses);
            Assert.DoesNotContain("504", statuses);
            var responses = document["paths"]![route]![method]!["responses"]!;
            Assert.NotNull(responses["401"]!["headers"]!["WWW-Authenticate"]);
            Assert.NotNull(responses["429"]!["headers"]!["Retry-After"]);
        }
        var scheme = document["components"]!["securitySchemes"]!["api_key"]!;   // a generated client sends the key
        Assert.Equal(("http", "bearer"), ((string)scheme["type"]!, (string)scheme["scheme"]!));
        Assert.Equal(["api_key"], document["security"]!.AsArray().SelectMany(r => r!.AsObject().Select(s => s.Key)));
        Assert.Null((await DocumentAsync(service.Factory))["components"]!["securitySchemes"]);   // no keys, no scheme
    }

    [Fact]
    public async Task SwaggerDocument_ErrorSchemas_RequireTheFieldsEveryErrorBodyCarries()
    {
        var document = await DocumentAsync(service.Factory);
        string[] Required(string name) => Schema(document, name)["required"]!.AsArray().Select(r => (string)r!).Order().ToArray();

        Assert.Equal(["error", "status", "title", "trace_id"], Required("ProblemDetails"));
        Assert.Equal(["error", "errors", "status", "title", "trace_id"], Required("HttpValidationProblemDetails"));
        Assert.Equal("#/components/schemas/OpenAiError", (string)Schema(document, "ProblemDetails")["properties"]!["error"]!["$ref"]!);
        Assert.Equal(["code", "message", "type"], Required("OpenAiError"));
        Assert.Equal(["code", "message", "param", "type"], Schema(document, "OpenAiError")["properties"]!.AsObject().Select(p => p.Key).Order());
    }
}
