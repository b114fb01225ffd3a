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
}
