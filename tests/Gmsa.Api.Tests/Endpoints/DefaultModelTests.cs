using System.Net;
using System.Text.Json.Nodes;
using Gmsa.Api.Tests.Infrastructure;

namespace Gmsa.Api.Tests.Endpoints;

/// <summary>
/// The README's first command, `dotnet run --project src/Gmsa.Api`, with no settings: the service must
/// find and serve the embedded models/gmsa-tiny committed in the repository.
/// </summary>
public sealed class DefaultModelTests : IDisposable
{
    readonly ApiFactory factory = new(modelDir: null);

    static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Models_NoSettings_DescribesEmbeddedGmsaTiny()
    {
        var response = await factory.CreateClient().GetAsync("/v1/models", Token);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var model = (await response.JsonAsync())["data"]!.AsArray().Single()!;
        Assert.Equal("gmsa-tiny", (string)model["id"]!);
        Assert.Equal("llama", (string)model["family"]!);
        Assert.Equal(1024, (int)model["context_length"]!);
        Assert.Equal(8192, (int)model["vocab_size"]!);
        Assert.Equal("bfloat16", (string)model["dtype"]!);
    }

    [Fact]
    public async Task Completion_NoSettings_AnswersWithGmsaTinyText()
    {
        var response = await factory.CreateClient().PostCompletionAsync(
            """{"prompt": "It was a cold morning in", "max_tokens": 24, "temperature": 0}""", Token);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.JsonAsync();
        Assert.Equal("gmsa-tiny", (string)body["model"]!);
        Assert.False(string.IsNullOrWhiteSpace((string)body["text"]!));
        Assert.True((int)body["usage"]!["completion_tokens"]! > 0);
    }

    [Fact]
    public async Task Completion_RepetitionPenaltyLeftOut_TakesTheFoldersGenerationConfig()
    {
        var client = factory.CreateClient();
        async Task<string> Text(string body) => (string)(await (await client.PostCompletionAsync(body, Token)).JsonAsync())["text"]!;

        // models/gmsa-tiny/generation_config.json says repetition_penalty 1.3, as its card recommends.
        string leftOut = await Text("""{"prompt": "The ship sailed", "max_tokens": 40}""");
        Assert.Equal(await Text("""{"prompt": "The ship sailed", "max_tokens": 40, "repetition_penalty": 1.3}"""), leftOut);
        Assert.NotEqual(await Text("""{"prompt": "The ship sailed", "max_tokens": 40, "repetition_penalty": 1}"""), leftOut);
    }

    [Fact]
    public async Task Completion_FrequencyPenalty_ChangesTheTextAndZeroIsOff()
    {
        var client = factory.CreateClient();
        async Task<string> Text(string body) => (string)(await (await client.PostCompletionAsync(body, Token)).JsonAsync())["text"]!;

        string plain = await Text("""{"prompt": "The ship sailed", "max_tokens": 40}""");
        Assert.Equal(await Text("""{"prompt": "The ship sailed", "max_tokens": 40, "frequency_penalty": 0, "presence_penalty": 0}"""), plain);
        Assert.NotEqual(await Text("""{"prompt": "The ship sailed", "max_tokens": 40, "frequency_penalty": 0.5}"""), plain);
    }

    public void Dispose() => factory.Dispose();
}
