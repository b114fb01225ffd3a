using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Gmsa.Api.Tests.Infrastructure;

namespace Gmsa.Api.Tests.Endpoints;

/// <summary>OpenAI-shaped /v1/chat/completions (and the OpenAI fields of /v1/completions and /v1/models) over stories260K.</summary>
public sealed class ChatEndpointTests(ServiceFixture service) : IClassFixture<ServiceFixture>
{
    static CancellationToken Token => TestContext.Current.CancellationToken;

    Task<HttpResponseMessage> Chat(string json, bool stream = false) =>
        service.Factory.CreateClient().SendAsync(new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = new StringContent(json, Encoding.UTF8, "application/json"),
        }, stream ? HttpCompletionOption.ResponseHeadersRead : HttpCompletionOption.ResponseContentRead, Token);

    [Fact]
    public async Task Chat_Streamed_IsCountedInTheGenAiMetrics()
    {
        // only the non-streamed chat was recorded: a dashboard of chat traffic missed every streaming client
        using var fresh = new ApiFactory(service.ModelDir);
        var client = fresh.CreateClient();
        var response = await client.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = new StringContent("""{"messages": [{"role": "user", "content": "Once"}], "max_tokens": 4, "stream": true}""", Encoding.UTF8, "application/json"),
        }, HttpCompletionOption.ResponseHeadersRead, Token);
        await response.EventsAsync(Token);
        var metrics = await client.GetStringAsync("/metrics", Token);

        Assert.Matches("gen_ai_server_request_duration_seconds_count\\{[^}]*gen_ai_operation_name=\"chat\"[^}]*\\} 1", metrics);
        Assert.Matches("gmsa_completion_duration_seconds_count\\{[^}]*stream=\"true\"[^}]*\\} 1", metrics);
    }

    [Fact]
    public async Task Chat_UserMessage_AnswersInOpenAiShapeWithTheCompletionsText()
    {
        var body = await (await Chat("""{"model": "any", "messages": [{"role": "user", "content": "Once upon a time"}], "max_tokens": 20}""")).JsonAsync();
        var completion = await (await service.Factory.CreateClient().PostCompletionAsync("""{"prompt": "Once upon a time", "max_tokens": 20}""", Token)).JsonAsync();

        Assert.Equal("chat.completion", (string)body["object"]!);
        Assert.StartsWith("chatcmpl-", (string)body["id"]!);
        Assert.True((long)body["created"]! > 1_700_000_000);
        var choice = body["choices"]![0]!;
        Assert.Equal(0, (int)choice["index"]!);
        Assert.Equal("assistant", (string)choice["message"]!["role"]!);
        Assert.Equal((string)completion["text"]!, (string)choice["message"]!["content"]!);   // a base model's chat template is the plain text
        Assert.Equal("length", (string)choice["finish_reason"]!);
        var usage = body["usage"]!;
        Assert.Equal((int)usage["prompt_tokens"]! + (int)usage["completion_tokens"]!, (int)usage["total_tokens"]!);

        Assert.Equal("text_completion", (string)completion["object"]!);
        Assert.Equal((string)completion["text"]!, (string)completion["choices"]![0]!["text"]!);
        Assert.Equal(25, (int)completion["usage"]!["total_tokens"]!);
    }

    [Fact]
    public async Task Chat_StreamWithIncludeUsage_EndsWithAUsageChunkEqualToTheNonStreamedUsage()
    {
        // OpenAI's SDKs (and LangChain) ask for it to count a streamed answer's tokens
        const string json = """{"messages": [{"role": "user", "content": "Lily saw"}], "max_tokens": 12, "stream": true, "stream_options": {"include_usage": true}}""";
        var usage = (await (await Chat(json.Replace(", \"stream\": true", ""))).JsonAsync())["usage"]!;
        var events = await (await Chat(json, stream: true)).EventsAsync(Token);

        Assert.Empty(events[^1]["choices"]!.AsArray());
        Assert.Equal((int)usage["prompt_tokens"]!, (int)events[^1]["usage"]!["prompt_tokens"]!);
        Assert.Equal((int)usage["completion_tokens"]!, (int)events[^1]["usage"]!["completion_tokens"]!);
        Assert.Equal("length", (string)events[^2]["choices"]![0]!["finish_reason"]!);
        Assert.All(events.SkipLast(1), e => Assert.Null(e["usage"]));           // only the last chunk carries it
    }

    [Fact]
    public async Task Chat_Stream_ChunksConcatenateToTheAnswerAndEndWithDone()
    {
        const string json = """{"messages": [{"role": "user", "content": "Lily saw"}], "max_tokens": 24, "stream": true}""";
        var whole = (string)(await (await Chat(json.Replace(", \"stream\": true", ""))).JsonAsync())["choices"]![0]!["message"]!["content"]!;
        var events = await (await Chat(json, stream: true)).EventsAsync(Token);   // asserts the final data: [DONE]

        Assert.All(events, e => Assert.Equal("chat.completion.chunk", (string)e["object"]!));
        Assert.Equal("assistant", (string)events[0]["choices"]![0]!["delta"]!["role"]!);
        Assert.Equal(whole, string.Concat(events.Select(e => (string?)e["choices"]![0]!["delta"]!["content"] ?? "")));
        Assert.Equal("length", (string)events[^1]["choices"]![0]!["finish_reason"]!);
    }

    [Fact]
    public async Task Chat_Stop_EndsTheTextBeforeTheStopStringStreamedOrNot()
    {
        const string messages = "\"messages\": [{\"role\": \"user\", \"content\": \"Once upon a time\"}], \"max_tokens\": 60";
        var free = (string)(await (await Chat("{" + messages + "}")).JsonAsync())["choices"]![0]!["message"]!["content"]!;
        var stop = free.Split(' ', StringSplitOptions.RemoveEmptyEntries)[3];   // a word the free text contains
        string expected = free[..free.IndexOf(stop, StringComparison.Ordinal)];

        var cut = (await (await Chat("{" + messages + ", \"stop\": [\"" + stop + "\"]}")).JsonAsync())["choices"]![0]!;
        Assert.Equal(expected, (string)cut["message"]!["content"]!);
        Assert.Equal("stop", (string)cut["finish_reason"]!);
        var events = await (await Chat("{" + messages + ", \"stop\": \"" + stop + "\", \"stream\": true}", stream: true)).EventsAsync(Token);
        Assert.Equal(expected, string.Concat(events.Select(e => (string?)e["choices"]![0]!["delta"]!["content"] ?? "")));
        Assert.Equal("stop", (string)events[^1]["choices"]![0]!["finish_reason"]!);
    }

    [Fact]
    public async Task Chat_NTwo_TwoChoicesWithTheirOwnSeeds()
    {
        var body = await (await Chat("""{"messages": [{"role": "user", "content": "The dog"}], "max_tokens": 30, "temperature": 1.0, "n": 2, "seed": 5}""")).JsonAsync();
        var choices = body["choices"]!.AsArray();
        Assert.Equal([0, 1], choices.Select(c => (int)c!["index"]!));
        Assert.NotEqual((string)choices[0]!["message"]!["content"]!, (string)choices[1]!["message"]!["content"]!);
    }

    [Theory]
    [InlineData("""{"messages": [{"role": "robot", "content": "Hi"}]}""", "messages")]
    [InlineData("""{"messages": []}""", "messages")]
    [InlineData("""{"messages": [{"role": "user", "content": "Hi"}], "stop": 3}""", "stop")]
    [InlineData("""{"messages": [{"role": "user", "content": "Hi"}], "stop": ["a", "b", "c", "d", "e"]}""", "stop")]
    [InlineData("""{"messages": [{"role": "user", "content": "Hi"}], "n": 2, "stream": true}""", "n")]
    [InlineData("""{"messages": [{"role": "user", "content": "Hi"}], "n": 9}""", "n")]
    [InlineData("""{"messages": [{"role": "user", "content": "Hi"}], "documents": ["a long text"]}""", "documents")]
    [InlineData("""{"messages": [{"role": "user", "content": "Hi"}], "max_tokens": "5"}""", "max_tokens")]
    public async Task Chat_BadRequest_400WithOpenAiErrorObject(string json, string param)
    {
        var response = await Chat(json);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = (await response.JsonAsync())["error"]!;
        Assert.Equal("invalid_request_error", (string)error["type"]!);
        Assert.Equal(param, (string)error["param"]!);
        Assert.False(string.IsNullOrWhiteSpace((string)error["message"]!));
    }

    [Fact]
    public async Task Models_List_InOpenAiShape()
    {
        var body = await (await service.Factory.CreateClient().GetAsync("/v1/models", Token)).JsonAsync();
        Assert.Equal("list", (string)body["object"]!);
        var model = body["data"]![0]!;
        Assert.Equal("model", (string)model["object"]!);
        Assert.Equal("gmsa", (string)model["owned_by"]!);
        Assert.Null(model["compression_rates"]);   // stories260K has no compressor
    }
}
