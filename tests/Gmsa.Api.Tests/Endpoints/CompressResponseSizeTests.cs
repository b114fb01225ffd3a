using System.Net;
using System.Text;
using Gmsa.Api.Hosting;
using Gmsa.Api.Tests.Infrastructure;
using Gmsa.Engine.Compression;
using Microsoft.Extensions.DependencyInjection;
using static Gmsa.Api.Tests.Endpoints.CompressionEndpointTests;

namespace Gmsa.Api.Tests.Endpoints;

/// <summary>Gmsa:Compression:MaxResponseBytes: /v1/compress answers are sized before any encoder time is spent.</summary>
public sealed class CompressResponseSizeTests : IDisposable
{
    readonly ApiFactory factory = new(modelDir: null);
    static CancellationToken Token => TestContext.Current.CancellationToken;

    GmsaModel Gmsa => factory.Services.GetRequiredService<CompressionHost>().Service!.Gmsa;

    Task<HttpResponseMessage> Post(string route, string json, ApiFactory? service = null) =>
        (service ?? factory).CreateClient().PostAsync(route, new StringContent(json, Encoding.UTF8, "application/json"), Token);

    [Fact]
    public async Task Compress_AnswerPastMaxResponseBytes_Answers400SayingWhatWouldFit()
    {
        // unbounded, one 60,000-word context at rate 1 in JSON was answered with 228 MB, the server growing by 550 MB
        using var small = new ApiFactory(modelDir: null, ("Gmsa:Compression:MaxResponseBytes", "50000"));
        var refused = await Post("/v1/compress", $$"""{"contexts": ["{{Chad}}"], "rate": 1}""", small);

        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        var message = (string)(await refused.JsonAsync())["error"]!["message"]!;
        Assert.Contains("Gmsa:Compression:MaxResponseBytes", message);
        Assert.Contains("base64-bfloat16", message);
        var denser = await Post("/v1/compress", $$"""{"contexts": ["{{Chad}}"], "rate": 4, "format": "base64-bfloat16"}""", small);
        Assert.Equal(HttpStatusCode.OK, denser.StatusCode);
    }

    [Theory]
    [InlineData("json")]
    [InlineData("base64-float32")]
    [InlineData("base64-bfloat16")]
    [InlineData("safetensors")]
    public async Task Compress_ResponseSizeEstimate_WithinAFifthOfTheRealBody(string format)
    {
        var response = await Post("/v1/compress", $$"""{"contexts": ["{{Chad}} {{Ship}}"], "rate": 1, "format": "{{format}}"}""");
        long body = (await response.Content.ReadAsByteArrayAsync(Token)).Length;
        int rows = Gmsa.EncodeContext($"{Chad} {Ship}").Count;     // rate 1: a soft token per context token
        double estimate = rows * 384 * global::Gmsa.Api.Contracts.SoftTokenFormats.BytesPerValue(format, dtypeBytes: 2);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.InRange(body / estimate, 0.8, 1.2);
    }

    public void Dispose() => factory.Dispose();
}
