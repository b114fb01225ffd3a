using System.Net;
using System.Text;
using Gmsa.Api.Tests.Endpoints;
using Gmsa.Api.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Gmsa.Api.Tests.Hosting;

/// <summary>The compression routes' real answers against the served document, on the embedded gmsa-tiny and its compressor.</summary>
public sealed class SwaggerCompressionTests : IDisposable
{
    readonly ApiFactory factory = new(modelDir: null);
    static CancellationToken Token => TestContext.Current.CancellationToken;

    Task<HttpResponseMessage> Post(string route, string json, bool stream = false) =>
        factory.CreateClient().SendAsync(new HttpRequestMessage(HttpMethod.Post, route) { Content = new StringContent(json, Encoding.UTF8, "application/json") },
            stream ? HttpCompletionOption.ResponseHeadersRead : HttpCompletionOption.ResponseContentRead, Token);

    [Theory]
    [InlineData("json", "application/json")]
    [InlineData("base64-bfloat16", "application/json")]
    [InlineData("safetensors", "application/x-safetensors")]
    [InlineData("npy", "application/x-npy")]
    public async Task Compress_EachFormat_AnswersAContentTypeTheDocumentLists(string format, string mediaType)
    {
        // the document listed application/json alone: a generated client had no way to ask for, or read, a file
        var document = await OpenApiSchemas.DocumentAsync(factory, Token);
        var response = await Post("/v1/compress", $$"""{"contexts": ["{{CompressionEndpointTests.Ship}}"], "format": "{{format}}"}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(mediaType, response.ContentType()?.MediaType);
        var schema = OpenApiSchemas.ResponseSchema(document, "post", "/v1/compress", 200, mediaType);
        if (mediaType == "application/json") OpenApiSchemas.AssertFits(document, schema, await response.JsonAsync());
        else Assert.Equal("binary", (string)schema["format"]!);
    }

    [Theory]
    [InlineData("/v1/answer", """{"contexts": ["The ship sailed before the sun was up."], "question": " Question: When did the ship sail? Answer:", "max_tokens": 6, "stream": true}""")]
    [InlineData("/v1/reconstruct", """{"context": "The ship sailed before the sun was up.", "max_tokens": 6, "stream": true}""")]
    public async Task AnswerOrReconstruct_Streamed_ChunksCarryTheModelAndFitTheDocumentedChunk(string route, string json)
    {
        // the chunks lacked model, which completion chunks carry, and the document described them as a bare SSE item
        var document = await OpenApiSchemas.DocumentAsync(factory, Token);
        var response = await Post(route, json, stream: true);
        var events = await response.EventsAsync(Token);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var schema = OpenApiSchemas.ResponseSchema(document, "post", route, 200, "text/event-stream");
        Assert.Equal("#/components/schemas/CompletionChunk", (string)schema["$ref"]!);
        Assert.All(events, e => Assert.Equal(factory.Services.GetRequiredService<Gmsa.Api.Contracts.ModelInfo>().Id, (string)e["model"]!));
        Assert.All(events, e => OpenApiSchemas.AssertFits(document, schema, e));
        Assert.NotNull(events[^1]["usage"]);
    }

    public void Dispose() => factory.Dispose();
}
