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

    static async Task<JsonNode> DocumentAsync(ApiFactory factory) =>
        JsonNode.Parse(await factory.CreateClient().GetStringAsync("/swagger/v1/swagger.json", Token))!;

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
}
