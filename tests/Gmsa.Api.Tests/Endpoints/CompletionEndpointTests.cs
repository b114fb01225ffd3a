using System.Net;
using Gmsa.Api.Tests.Infrastructure;
using Gmsa.Engine.Generation;
using Gmsa.Engine.Tests.Golden;

namespace Gmsa.Api.Tests.Endpoints;

/// <summary>POST /v1/completions through the in-memory server, over the real stories260K model.</summary>
public sealed class CompletionEndpointTests(ServiceFixture service) : IClassFixture<ServiceFixture>
{
    static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Completion_GreedyOnceUponATime_ReproducesLlama2cReference()
    {
        var client = service.Factory.CreateClient();
        // llama2.c's "-n 128" block: 128 positions, of which the prompt "Once upon a time" (BOS + 4) takes 5.
        var expected = Stories260kFixture.ReadGreedyReference()["## greedy, prompt 'Once upon a time', -n 128"].Text;
        var response = await client.PostCompletionAsync("""{"prompt": "Once upon a time", "max_tokens": 124}""", Token);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.JsonAsync();
        Assert.Equal(expected, "Once upon a time" + (string)body["text"]!);
        Assert.Equal("length", (string)body["finish_reason"]!);
        Assert.Equal(5, (int)body["usage"]!["prompt_tokens"]!);
        Assert.Equal(124, (int)body["usage"]!["completion_tokens"]!);
        Assert.Equal(Path.GetFileName(service.ModelDir), (string)body["model"]!); // the folder's name is the model id
        Assert.StartsWith("cmpl-", (string)body["id"]!);
        Assert.True((double)body["timings"]!["prefill_ms"]! > 0);
        Assert.True((double)body["timings"]!["decode_tokens_per_s"]! > 0);
    }

    [Fact]
    public async Task Completion_SampledWithSeed_EqualsEngineCompleteAsync()
    {
        var client = service.Factory.CreateClient();
        var response = await client.PostCompletionAsync(
            """{"prompt": "Lily saw", "max_tokens": 40, "temperature": 0.8, "top_p": 0.9, "top_k": 50, "repetition_penalty": 1.2, "seed": 11, "frequency_penalty": 0.5, "presence_penalty": 0.3}""", Token);
        var options = new SamplingOptions { MaxNewTokens = 40, Temperature = 0.8, TopP = 0.9, TopK = 50, RepetitionPenalty = 1.2, Seed = 11, FrequencyPenalty = 0.5, PresencePenalty = 0.3 };
        var engine = await service.Factory.Model.CompleteAsync(["Lily saw"], options, cancellation: Token);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(engine.Texts[0], (string)(await response.JsonAsync())["text"]!);
    }

    [Fact]
    public async Task Completion_NThree_ChoicesEqualSeedsSeedPlusOneAndTwoAlone()
    {
        var client = service.Factory.CreateClient();
        const string settings = "\"prompt\": \"Lily saw\", \"max_tokens\": 24, \"temperature\": 0.9";
        var body = await (await client.PostCompletionAsync($"{{{settings}, \"seed\": 5, \"n\": 3}}", Token)).JsonAsync();
        var choices = body["choices"]!.AsArray();

        Assert.Equal(3, choices.Count);
        int completionTokens = 0;
        for (int i = 0; i < 3; i++)
        {
            var alone = await (await client.PostCompletionAsync($"{{{settings}, \"seed\": {5 + i}}}", Token)).JsonAsync();
            Assert.Equal(i, (int)choices[i]!["index"]!);
            Assert.Equal((string)alone["text"]!, (string)choices[i]!["text"]!);
            completionTokens += (int)alone["usage"]!["completion_tokens"]!;
        }
        Assert.NotEqual((string)choices[0]!["text"]!, (string)choices[1]!["text"]!);
        Assert.Equal((string)choices[0]!["text"]!, (string)body["text"]!);
        Assert.Equal(completionTokens, (int)body["usage"]!["completion_tokens"]!);
        Assert.Equal(3, (int)body["usage"]!["prompt_tokens"]!);   // BOS + "Lily saw", counted once
    }

    [Fact]
    public async Task Completion_Stream_EventsConcatenateToNonStreamedText()
    {
        var client = service.Factory.CreateClient();
        const string request = """{"prompt": "The cat", "max_tokens": 30, "temperature": 0.7, "seed": 5""";
        var whole = await (await client.PostCompletionAsync(request + "}", Token)).JsonAsync();
        using var streamed = await client.PostStreamingAsync(request + """, "stream": true}""", Token);

        Assert.Equal(HttpStatusCode.OK, streamed.StatusCode);
        Assert.Equal("text/event-stream", streamed.ContentType()?.MediaType);
        var events = await streamed.EventsAsync(Token);
        var last = events[^1];
        Assert.True(events.Count > 5);
        Assert.All(events[..^1], e => Assert.Null(e["finish_reason"]));
        Assert.Equal((string)whole["text"]!, string.Concat(events.Select(e => (string)e["text"]!)));
        Assert.Equal((string)whole["finish_reason"]!, (string)last["finish_reason"]!);
        Assert.Equal((int)whole["usage"]!["completion_tokens"]!, (int)last["usage"]!["completion_tokens"]!);
        Assert.Single(events.Select(e => (string)e["id"]!).Distinct());
    }

    [Fact]
    public async Task Completion_MaxTokensLeftOut_UsesDefaultMaxTokens()
    {
        var client = service.Factory.CreateClient();
        var body = await (await client.PostCompletionAsync("""{"prompt": "Once upon a time"}""", Token)).JsonAsync();
        Assert.Equal(64, (int)body["usage"]!["completion_tokens"]!); // Gmsa:Serving:DefaultMaxTokens in ServiceFixture
    }

    public static TheoryData<string, string> InvalidRequests() => new()
    {
        { """{"prompt": ""}""", "prompt" },
        { """{"max_tokens": 5}""", "prompt" },
        { """{"prompt": "Hi", "max_tokens": 0}""", "max_tokens" },
        { """{"prompt": "Hi", "max_tokens": 401}""", "max_tokens" },
        { """{"prompt": "Hi", "max_tokens": "ten"}""", "max_tokens" },
        { """{"prompt": "Hi", "max_tokens": "12"}""", "max_tokens" },          // a number in a string is not a number
        { """{"prompt": "Hi", "temperature": "0.5"}""", "temperature" },
        { $$"""{"prompt": "{{new string('a', 300 * 32 + 1)}}"}""", "prompt" },  // too long to tokenize at all
        { """{"prompt": "Hi", "temperature": -0.5}""", "temperature" },
        { """{"prompt": "Hi", "top_p": 0}""", "top_p" },
        { """{"prompt": "Hi", "top_p": 1.01}""", "top_p" },
        { """{"prompt": "Hi", "top_k": -1}""", "top_k" },
        { """{"prompt": "Hi", "repetition_penalty": 0}""", "repetition_penalty" },
        { """{"prompt": "Hi", "frequency_penalty": 2.5}""", "frequency_penalty" },
        { """{"prompt": "Hi", "presence_penalty": -3}""", "presence_penalty" },
        { """{"prompt": "Hi", "n": 0}""", "n" },
        { """{"prompt": "Hi", "n": 9}""", "n" },
        { """{"prompt": "Hi", "n": 2, "stream": true}""", "n" },
        { """{"prompt": "Hi", """, "body" },
        { "[1, 2]", "body" },
        { $$"""{"prompt": "{{string.Concat(Enumerable.Repeat("Once upon a time ", 100))}}"}""", "prompt" },
    };

    [Theory]
    [MemberData(nameof(InvalidRequests))]
    public async Task Completion_InvalidField_Returns400ProblemNamingTheField(string json, string field)
    {
        var response = await service.Factory.CreateClient().PostCompletionAsync(json, Token);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(Http.ProblemJson, response.ContentType()?.MediaType);
        var problem = await response.JsonAsync();
        Assert.Equal(400, (int)problem["status"]!);
        var errors = problem["errors"]!.AsObject();
        Assert.True(errors.ContainsKey(field), $"errors name {string.Join(", ", errors.Select(e => e.Key))}, not {field}");
        Assert.All(errors[field]!.AsArray(), message => Assert.False(string.IsNullOrWhiteSpace((string)message!)));
    }

    [Fact]
    public async Task Completion_PromptPlusMaxTokensPastContext_Returns400NamingMaxTokensAndContext()
    {
        var lm = service.Factory.Model;
        var prompt = string.Concat(Enumerable.Repeat("Once upon a time ", 55));
        int tokens = lm.Encode(prompt).Count;
        Assert.InRange(tokens, 213, 300); // under MaxPromptTokens, yet with 300 new tokens past the 512 context

        var response = await service.Factory.CreateClient().PostCompletionAsync($$"""{"prompt": "{{prompt}}", "max_tokens": 300}""", Token);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var message = (string)(await response.JsonAsync())["errors"]!["max_tokens"]![0]!;
        Assert.Contains("context of 512", message);
    }

    [Theory]
    [InlineData("", "application/json", HttpStatusCode.BadRequest)]
    [InlineData("prompt=Hi", "application/x-www-form-urlencoded", HttpStatusCode.UnsupportedMediaType)]
    public async Task Completion_UnreadableBody_ReturnsProblem(string body, string contentType, HttpStatusCode expected)
    {
        var content = new StringContent(body, System.Text.Encoding.UTF8, contentType);
        var response = await service.Factory.CreateClient().PostAsync("/v1/completions", content, Token);

        Assert.Equal(expected, response.StatusCode);
        Assert.Equal(Http.ProblemJson, response.ContentType()?.MediaType);
        Assert.Equal((int)expected, (int)(await response.JsonAsync())["status"]!);
    }

    [Fact]
    public async Task Completion_FormBodyOrWrongMethod_DetailSaysWhatTheRouteTakes()
    {
        // both said only "Unsupported Media Type" / "Method Not Allowed": curl's -d without a header sends a form
        var client = service.Factory.CreateClient();
        var form = await client.PostAsync("/v1/completions", new StringContent("{\"prompt\": \"Hi\"}", System.Text.Encoding.UTF8, "application/x-www-form-urlencoded"), Token);
        var put = await client.PutAsync("/v1/completions", new StringContent("{}", System.Text.Encoding.UTF8, "application/json"), Token);

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, form.StatusCode);
        Assert.Equal("POST /v1/completions reads a JSON body: send it with Content-Type: application/json (this request's was 'application/x-www-form-urlencoded; charset=utf-8')",
            (string)(await form.JsonAsync())["error"]!["message"]!);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, put.StatusCode);
        Assert.Equal("/v1/completions does not answer PUT; it answers POST", (string)(await put.JsonAsync())["detail"]!);
    }

    [Theory]
    [InlineData("""{"temperature": 1e-38}""")]
    [InlineData("""{"temperature": 0.8, "top_p": 1e-50}""")]
    [InlineData("""{"temperature": 0.8, "repetition_penalty": 1e-40}""")]
    [InlineData("""{"repetition_penalty": 1e-40}""")]
    [InlineData("""{"temperature": 1e-38, "top_p": 1e-50, "repetition_penalty": 1e-40}""")]
    public async Task Completion_ExtremeButFiniteSampling_Answers200(string settings)
    {
        var json = settings.Replace("{", """{"prompt": "Once upon a time", "max_tokens": 8, """);
        var response = await service.Factory.CreateClient().PostCompletionAsync(json, Token);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(8, (int)(await response.JsonAsync())["usage"]!["completion_tokens"]!);
    }

    [Fact]
    public async Task Swagger_CompletionRequest_OnlyPromptRequiredAndMaxTokensBoundedByTheService()
    {
        var document = System.Text.Json.Nodes.JsonNode.Parse(await service.Factory.CreateClient().GetStringAsync("/swagger/v1/swagger.json", Token))!;
        var schema = document["components"]!["schemas"]!["CompletionRequest"]!;

        Assert.Equal(["prompt"], schema["required"]!.AsArray().Select(r => (string)r!));
        Assert.Equal(400, (int)schema["properties"]!["max_tokens"]!["maximum"]!);          // Gmsa:Serving:MaxNewTokens of this fixture
        Assert.NotEqual(false, (bool?)schema["additionalProperties"]);                      // unknown fields are ignored, not refused
        var accepted = await service.Factory.CreateClient().PostCompletionAsync("""{"prompt": "Hi", "max_tokens": 2, "unknown": 1}""", Token);
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
    }

    [Fact]
    public async Task Completion_Stop_EndsTheTextBeforeTheStopStringStreamedOrNot()
    {
        var client = service.Factory.CreateClient();
        var free = (string)(await (await client.PostCompletionAsync("""{"prompt": "Once upon a time", "max_tokens": 60}""", Token)).JsonAsync())["text"]!;
        var stop = free.Split(' ', StringSplitOptions.RemoveEmptyEntries)[4];
        string expected = free[..free.IndexOf(stop, StringComparison.Ordinal)];

        var cut = await (await client.PostCompletionAsync($$"""{"prompt": "Once upon a time", "max_tokens": 60, "stop": "{{stop}}"}""", Token)).JsonAsync();
        Assert.Equal(expected, (string)cut["text"]!);
        Assert.Equal("stop", (string)cut["choices"]![0]!["finish_reason"]!);
        int tokens = (int)cut["usage"]!["completion_tokens"]!;
        Assert.InRange(tokens, 1, 59);                 // generation stopped at the stop string, not cut after 60 tokens
        var events = await (await client.PostStreamingAsync($$"""{"prompt": "Once upon a time", "max_tokens": 60, "stop": ["{{stop}}"], "stream": true}""", Token)).EventsAsync(Token);
        Assert.Equal(expected, string.Concat(events.Select(e => (string)e["text"]!)));
        Assert.Equal("stop", (string)events[^1]["finish_reason"]!);
        Assert.Equal(tokens, (int)events[^1]["usage"]!["completion_tokens"]!);   // the last event carries usage and timings as always
        Assert.NotNull(events[^1]["timings"]);
        Assert.Equal(HttpStatusCode.BadRequest, (await client.PostCompletionAsync("""{"prompt": "Hi", "stop": [1]}""", Token)).StatusCode);
    }
}
