using Gmsa.Api.Tests.Infrastructure;
using Gmsa.Client;
using Microsoft.Extensions.AI;

namespace Gmsa.Api.Tests.Client;

/// <summary>Gmsa.Client against the real service on a loopback Kestrel, embedded gmsa-tiny with its compressor.</summary>
public sealed class GmsaClientTests : IDisposable
{
    readonly ApiFactory factory = new ApiFactory(modelDir: null).StartOnLoopback();
    static CancellationToken Token => TestContext.Current.CancellationToken;
    const string Chad = "The capital of Chad is N'Djamena. The currency of Chad is the Central African CFA franc.";
    const string Question = " Question: What is the capital of Chad? Answer:";

    GmsaClient Client() => new(factory.CreateClient());

    [Fact]
    public async Task CompressThenAnswerAndReconstruct_ByIdEqualsByText()
    {
        var client = Client();
        var compressed = Assert.Single(await client.CompressAsync([Chad], rate: 4, Token));
        Assert.Equal(compressed.TokensOut, compressed.Embedding!.Length);
        Assert.Equal(384, compressed.Embedding[0].Length);

        var byId = await client.AnswerAsync(Question, compressedIds: [compressed.CompressedId], maxTokens: 10, cancellation: Token);
        var byText = await client.AnswerAsync(Question, contexts: [Chad], rate: 4, maxTokens: 10, cancellation: Token);
        Assert.Equal(byText.Text, byId.Text);
        Assert.Equal(1, byId.Compression.CacheHits);
        Assert.Equal(compressed.TokensOut, byId.Compression.SoftTokens);
        var stop = byId.Text.Substring(byId.Text.Length / 2, 1);
        var stopped = await client.AnswerAsync(Question, compressedIds: [compressed.CompressedId], maxTokens: 10, cancellation: Token, stop: [stop]);
        Assert.Equal(byId.Text[..byId.Text.IndexOf(stop, StringComparison.Ordinal)], stopped.Text);

        var restated = await client.ReconstructAsync(compressed.CompressedId, maxTokens: 20, Token);
        Assert.True(restated.Usage.CompletionTokens > 0);
        var cut = restated.Text.Substring(restated.Text.Length / 2, 1);
        var restatedUntil = await client.ReconstructAsync(compressed.CompressedId, maxTokens: 20, Token, stop: [cut]);
        Assert.Equal(restated.Text[..restated.Text.IndexOf(cut, StringComparison.Ordinal)], restatedUntil.Text);
    }

    [Fact]
    public async Task CompressAsync_Base64AndVllmFormats_SameTensorAsJsonAndThePromptsRowsCounted()
    {
        var client = Client();
        var json = Assert.Single(await client.CompressAsync([Chad], rate: 4, Token));
        var base64 = Assert.Single(await client.CompressAsync([Chad], rate: 4, Token, format: "base64-float32"));
        var floats = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(Convert.FromBase64String(base64.Data!)).ToArray();
        Assert.Equal(json.Embedding!.SelectMany(row => row).ToArray(), floats);
        Assert.Null(json.PromptTokens);

        var vllm = Assert.Single(await client.CompressAsync([Chad], rate: 4, Token, format: "vllm-prompt-embeds", prompt: Question));
        Assert.NotNull(vllm.Data);
        Assert.InRange(vllm.PromptTokens!.Value, 5, 30);
        Assert.Equal(json.TokensOut + vllm.PromptTokens.Value, vllm.TokensOut);
        Assert.Equal(json.CompressedId, vllm.CompressedId);
    }

    [Fact]
    public async Task ChatClient_FrequencyAndPresencePenalty_ReachTheService()
    {
        IChatClient chat = Client();
        ChatMessage[] messages = [new(ChatRole.User, "The ship sailed")];
        async Task<string> Raw(string penalties)
        {
            var response = await factory.CreateClient().PostAsync("/v1/chat/completions", new StringContent(
                $$"""{"messages": [{"role": "user", "content": "The ship sailed"}], "max_tokens": 30{{penalties}}}""",
                System.Text.Encoding.UTF8, "application/json"), Token);
            return (string)(await response.JsonAsync())["choices"]![0]!["message"]!["content"]!;
        }

        var penalized = await chat.GetResponseAsync(messages, new ChatOptions { MaxOutputTokens = 30, FrequencyPenalty = 0.5f, PresencePenalty = 0.25f }, Token);

        Assert.Equal(await Raw(""", "frequency_penalty": 0.5, "presence_penalty": 0.25"""), penalized.Text);
        Assert.NotEqual(await Raw(""), penalized.Text);
    }

    [Fact]
    public async Task ChatClient_ResponseAndStreamingUpdates_AgreeAndCarryUsage()
    {
        IChatClient chat = Client();
        var options = new ChatOptions { MaxOutputTokens = 16, AdditionalProperties = new() { [GmsaClient.DocumentsKey] = new[] { Chad }, [GmsaClient.RateKey] = 4 } };
        ChatMessage[] messages = [new(ChatRole.User, "Question: What is the capital of Chad? Answer:")];

        var response = await chat.GetResponseAsync(messages, options, Token);
        var updates = await chat.GetStreamingResponseAsync(messages, options, Token).ToListAsync(Token);
        var streamed = string.Concat(updates.Select(u => u.Text));

        Assert.Equal(response.Text, streamed);
        var streamedUsage = Assert.Single(updates.SelectMany(u => u.Contents).OfType<UsageContent>()).Details;   // stream_options.include_usage
        Assert.Equal(response.Usage!.TotalTokenCount, streamedUsage.TotalTokenCount);
        // The fine-tuned decoder may answer and stop before the limit; the reason must say which.
        long output = response.Usage!.OutputTokenCount!.Value;
        Assert.InRange(output, 1, 16);
        Assert.Equal(output == 16 ? ChatFinishReason.Length : ChatFinishReason.Stop, response.FinishReason);
        Assert.Equal(response.Usage.InputTokenCount + output, response.Usage.TotalTokenCount);
        Assert.Equal("gmsa-tiny", response.ModelId);
    }

    [Fact]
    public async Task ChatClient_StreamPastItsDeadline_ThrowsTheServicesTimeoutInsteadOfANullReference()
    {
        using var slow = new ApiFactory(modelDir: null, ("Gmsa:Access:RequestTimeoutSeconds", "1")).StartOnLoopback();
        IChatClient chat = new GmsaClient(slow.CreateClient());
        GmsaApiException error;
        using (slow.HoldModel())                                      // the answer cannot come within its second
            error = await Assert.ThrowsAsync<GmsaApiException>(async () =>
            {
                await foreach (var _ in chat.GetStreamingResponseAsync([new(ChatRole.User, "Hi")], new ChatOptions { MaxOutputTokens = 8 }, Token)) { }
            });

        Assert.Equal(504, error.Status);
        Assert.Contains("RequestTimeoutSeconds", error.Message);
    }

    [Fact]
    public async Task AnswerAsync_UnknownId_ThrowsWithTheServicesMessage()
    {
        var error = await Assert.ThrowsAsync<GmsaApiException>(() => Client().AnswerAsync(Question, compressedIds: ["cmp-" + new string('0', 32)], cancellation: Token));
        Assert.Equal(404, error.Status);
        Assert.Contains("not cached", error.Message);
    }

    [Fact]
    public async Task AnswerAsync_RateWithCompressedIds_ThrowsTheServicesReason()
    {
        var error = await Assert.ThrowsAsync<GmsaApiException>(() => Client().AnswerAsync(Question, compressedIds: ["cmp-" + new string('0', 32)], rate: 8, cancellation: Token));
        Assert.Equal(400, error.Status);
        Assert.Contains("compressed at their own rate", error.Message);
    }

    public void Dispose() => factory.Dispose();
}
