using System.Net;
using System.Text;
using Gmsa.Api.Tests.Infrastructure;

namespace Gmsa.Api.Tests.Endpoints;

/// <summary>
/// Bad or extreme input on the compression routes and on chat with documents, against the embedded gmsa-tiny: each is a
/// clear 4xx naming the field, or a right answer; never a 500, a hang, or another request's data.
/// </summary>
public sealed class BadInputTests : IDisposable
{
    readonly ApiFactory factory = new(modelDir: null);
    static CancellationToken Token => TestContext.Current.CancellationToken;

    Task<HttpResponseMessage> Post(string route, string json) =>
        factory.CreateClient().PostAsync(route, new StringContent(json, Encoding.UTF8, "application/json"), Token);

    [Fact]
    public async Task Compress_TextSpellingAnIdsContext_GetsItsOwnIdAndSoftTokens()
    {
        // context_ids [[5, 6]] were once cached under the key of the text "ids:5,6": whichever came second got the other's soft tokens
        var byIds = (await (await Post("/v1/compress", """{"context_ids": [[5, 6]]}""")).JsonAsync())["data"]![0]!;
        var byText = (await (await Post("/v1/compress", """{"contexts": ["ids:5,6"]}""")).JsonAsync())["data"]![0]!;

        Assert.NotEqual((string)byIds["compressed_id"]!, (string)byText["compressed_id"]!);
        Assert.False((bool)byText["cached"]!);
        Assert.Equal(2, (int)byIds["tokens_in"]!);
        Assert.NotEqual(2, (int)byText["tokens_in"]!);   // the text's own tokens, not the ids'
    }

    [Theory]
    [InlineData("/v1/answer", "\"question\": \" Capital?\", \"contexts\": [\"The capital of Chad is N'Djamena.\"]")]
    [InlineData("/v1/reconstruct", "\"context\": \"The capital of Chad is N'Djamena.\"")]
    public async Task MaxTokensIntMax_Answers400InsteadOfDecodingPastTheContext(string route, string fields)
    {
        // the prompt's length + int.MaxValue wrapped negative and passed the context check: the request then decoded unbounded
        var response = await Post(route, "{" + fields + ", \"max_tokens\": 2147483647}");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.NotNull((await response.JsonAsync())["errors"]!["max_tokens"]);
    }

    [Theory]
    [InlineData("/v1/answer", "\"question\": \" Capital?\", \"contexts\": [\"Chad.\"], \"max_tokens\": 513", "max_tokens")]
    [InlineData("/v1/reconstruct", "\"context\": \"Chad.\", \"max_tokens\": 513", "max_tokens")]
    [InlineData("/v1/chat/completions", "\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}], \"documents\": [\"Chad.\"], \"max_tokens\": 513", "max_tokens")]
    [InlineData("/v1/chat/completions", "\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}], \"max_completion_tokens\": 513", "max_completion_tokens")]
    public async Task MaxTokensPastMaxNewTokens_Answers400NamingTheField(string route, string fields, string field)
    {
        // Gmsa:Serving:MaxNewTokens (512) bounds max_tokens on every generating route, as /v1/completions has always done;
        // these routes checked only the model's context (1024 for gmsa-tiny) and generated up to 1000 tokens
        var response = await Post(route, "{" + fields + "}");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var body = await response.JsonAsync();
        Assert.Contains("MaxNewTokens", (string)body["errors"]![field]![0]!);
        Assert.Equal(field, (string)body["error"]!["param"]!);
    }

    [Theory]
    [InlineData("[null]", "message 0 is null")]
    [InlineData("[{\"role\": \"user\", \"content\": \"Hi\"}, null]", "message 1 is null")]
    [InlineData("[{\"role\": \"tool\", \"content\": \"Hi\"}]", "message 0 has role 'tool'")]
    [InlineData("[{\"role\": \"user\", \"content\": null}]", "message 0 has no content")]   // said "has role 'user'"
    [InlineData("[{\"role\": \"user\"}]", "message 0 has no content")]
    [InlineData("[{\"content\": \"Hi\"}]", "message 0 has no role")]
    public async Task Chat_NullOrBadMessage_Answers400InOpenAiShape(string messages, string expected)
    {
        var response = await Post("/v1/chat/completions", $$"""{"messages": {{messages}}, "max_tokens": 2}""");   // a null message was a 500

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = (await response.JsonAsync())["error"]!;
        Assert.Equal("messages", (string)error["param"]!);
        Assert.Contains(expected, (string)error["message"]!);
    }

    [Theory]
    [InlineData("/v1/compress", "\"contexts\": [\"a\", \"b\", \"c\", \"d\", \"e\"]", "contexts")]
    [InlineData("/v1/compress", "\"context_ids\": [[5], [6], [7], [8], [9]]", "context_ids")]
    [InlineData("/v1/answer", "\"question\": \"Q?\", \"contexts\": [\"a\", \"b\", \"c\", \"d\", \"e\"]", "contexts")]
    [InlineData("/v1/chat/completions", "\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}], \"documents\": [\"a\", \"b\", \"c\", \"d\", \"e\"]", "documents")]
    public async Task MoreContextsThanTheQueueHolds_Answers400Not429(string route, string fields, string field)
    {
        // a request with more contexts than Gmsa:Compression:MaxQueuedContexts can never be queued whole: it got 429
        // "retry after 1 s", and every retry the same (or a partial compression paid for nothing)
        using var small = new ApiFactory(modelDir: null, ("Gmsa:Compression:MaxQueuedContexts", "4"));
        var response = await small.CreateClient().PostAsync(route, new StringContent("{" + fields + ", \"max_tokens\": 2}", Encoding.UTF8, "application/json"), Token);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("MaxQueuedContexts", (string)(await response.JsonAsync())["errors"]![field]![0]!);
    }

    [Fact]
    public async Task Chat_MessagesOrDocumentsPastTheContext_Answers400NamingThemNotMaxTokens()
    {
        // both were 400 under max_tokens ("prompt of 1101 tokens + 2 new tokens exceeds..."), which the client had not
        // sent or could not fix: an OpenAI client saw error.param "max_tokens" for messages too long
        string words = string.Concat(Enumerable.Repeat(" word", 1100));   // 1100 tokens: past the 1024-position context
        var messages = await Post("/v1/chat/completions", $$"""{"messages": [{"role": "user", "content": "{{words}}"}], "max_tokens": 2}""");
        var documents = await Post("/v1/chat/completions", $$"""{"messages": [{"role": "user", "content": "Hi"}], "documents": ["{{words}}"], "rate": 1}""");

        Assert.Equal(HttpStatusCode.BadRequest, messages.StatusCode);
        Assert.Equal("messages", (string)(await messages.JsonAsync())["error"]!["param"]!);
        Assert.Equal(HttpStatusCode.BadRequest, documents.StatusCode);
        Assert.Equal("documents", (string)(await documents.JsonAsync())["error"]!["param"]!);
    }

    [Theory]
    [InlineData("/v1/compress", "{\"contexts\": [\"\"], \"format\": \"npy\"}", "application/x-npy", "contexts")]
    [InlineData("/v1/compress", "{\"contexts\": [\"\"], \"format\": \"safetensors\"}", "application/octet-stream", "contexts")]
    [InlineData("/v1/chat/completions", "{\"messages\": [], \"stream\": true}", "text/event-stream", "messages")]
    [InlineData("/v1/answer", "{\"question\": \"Q\", \"compressed_ids\": [\"x\"], \"max_tokens\": 0}", "text/html", "max_tokens")]
    public async Task Error_AcceptNotNamingJson_StillCarriesTraceIdAndOpenAiError(string route, string json, string accept, string field)
    {
        // ASP.NET's problem writer declines when Accept names neither JSON nor */*: the result then wrote a bare body
        // (no trace_id, no OpenAI error object), and an unhandled exception's 500 had no body at all
        var request = new HttpRequestMessage(HttpMethod.Post, route) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        request.Headers.Accept.ParseAdd(accept);
        var response = await factory.CreateClient().SendAsync(request, Token);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(Http.ProblemJson, response.ContentType()?.MediaType);
        var body = await response.JsonAsync();
        Assert.NotNull(body["trace_id"]);
        Assert.Equal(field, (string)body["error"]!["param"]!);
        Assert.Equal("invalid_request_error", (string)body["error"]!["type"]!);
    }

    [Fact]
    public async Task Answer_SoftTokensNearOrPastTheContext_ShortensTheDefaultMaxTokensOrNamesTheContexts()
    {
        // max_tokens left out is DefaultMaxTokens shortened to what the context still holds, as on completions and chat;
        // answer and reconstruct kept 128 and refused under max_tokens, a field the client had not sent
        string Words(int n) => string.Concat(Enumerable.Repeat(" word", n));
        var near = await Post("/v1/answer", $$"""{"question": " Q?", "contexts": ["{{Words(950)}}"], "rate": 1}""");
        var past = await Post("/v1/reconstruct", $$"""{"context": "{{Words(1030)}}", "rate": 1}""");

        Assert.Equal(HttpStatusCode.OK, near.StatusCode);
        var usage = (await near.JsonAsync())["usage"]!;
        Assert.InRange((int)usage["prompt_tokens"]! + (int)usage["completion_tokens"]!, 951, 1024);
        Assert.Equal(HttpStatusCode.BadRequest, past.StatusCode);
        Assert.Equal("context", (string)(await past.JsonAsync())["error"]!["param"]!);
    }

    [Theory]
    [InlineData("/v1/chat/completions", "\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]")]
    [InlineData("/v1/completions", "\"prompt\": \"Hi\"")]
    [InlineData("/v1/answer", "\"question\": \" Q?\", \"contexts\": [\"Chad.\"]")]
    public async Task StreamNull_ReadAsFalse_AsOpenAiDoes(string route, string fields)
    {
        // OpenAI's schema has stream: boolean or null; clients that serialize every field send null, and got a 400
        var response = await Post(route, "{" + fields + ", \"stream\": null, \"max_tokens\": 2}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.ContentType()?.MediaType);
    }

    [Theory]
    [InlineData("/v1/answer", "\"question\": \"Q\", \"compressed_ids\": [null]", "compressed_ids", "compressed_ids[0] is empty")]
    [InlineData("/v1/answer", "\"question\": \"Q\", \"compressed_ids\": [\"cmp-00000000000000000000000000000000\", \"\"]", "compressed_ids", "compressed_ids[1] is empty")]
    [InlineData("/v1/answer", "\"question\": \"Q\", \"compressed_ids\": [\"a\\u0000b\"]", "compressed_ids", "is not an id from /v1/compress")]
    [InlineData("/v1/answer", "\"question\": \"Q\", \"compressed_ids\": [\"cmp-zz\"]", "compressed_ids", "'cmp-zz' is not an id")]
    [InlineData("/v1/reconstruct", "\"compressed_id\": \"cmp-not-an-id\"", "compressed_id", "'cmp-not-an-id' is not an id")]
    [InlineData("/v1/reconstruct", "\"compressed_id\": \"   \"", "compressed_id", "compressed_id is empty")]
    [InlineData("/v1/reconstruct", "\"compressed_id\": \"\"", "compressed_id", "compressed_id is empty")]
    public async Task MalformedCompressedId_Answers400NamingTheField(string route, string fields, string param, string message)
    {
        // a malformed id answered 404 "not cached ... compress the context again", advice that cannot help a request that
        // never held an id; only a well-formed id that is not cached (made once, expired) is 404, and only it is looked up
        var response = await Post(route, "{" + fields + ", \"max_tokens\": 2}");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = (await response.JsonAsync())["error"]!;
        Assert.Equal(param, (string)error["param"]!);
        Assert.Contains(message, (string)error["message"]!);
    }

    [Fact]
    public async Task Compress_VllmPromptPastMaxPromptTokens_Answers400()
    {
        // the prompt was embedded whole and copied after every context's soft tokens: a 500 KB prompt made a 100 MB
        // answer per context, unbounded by any prompt limit the service has (MaxPromptTokens, 2048)
        string words = string.Concat(Enumerable.Repeat(" word", 2100));
        var response = await Post("/v1/compress", $$"""{"contexts": ["Chad."], "format": "vllm-prompt-embeds", "prompt": "{{words}}"}""");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = (await response.JsonAsync())["error"]!;
        Assert.Equal("prompt", (string)error["param"]!);
        Assert.Contains("MaxPromptTokens", (string)error["message"]!);
    }

    const string StopOf257 = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";

    [Theory]
    [InlineData("/v1/completions", """{"prompt": "Hi", "temperature": 1e309}""", "temperature", "temperature must be a finite number >= 0")]   // reads as infinity
    [InlineData("/v1/completions", """{"prompt": "Hi", "repetition_penalty": 1e400}""", "repetition_penalty", "repetition_penalty must be a finite number > 0")]
    [InlineData("/v1/completions", """{"prompt": "a \ud800 b"}""", "prompt", "prompt is not valid Unicode text: it holds a lone UTF-16 surrogate")]
    [InlineData("/v1/completions", "{\"prompt\": \"Hi\", \"stop\": [\"a\", \"" + StopOf257 + "\"]}", "stop", "a stop string is at most 256 characters; one has 257")]
    [InlineData("/v1/chat/completions", """{}""", "messages", "messages is required: an array of messages, each with a role and a content")]
    public async Task OddButParsableValues_Answers400SayingWhatIsWrong(string route, string body, string field, string expected)
    {
        // infinity was told "must be >= 0", a lone surrogate "must be a string", a missing messages "The Messages field is required."
        var response = await Post(route, body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = (await response.JsonAsync())["error"]!;
        Assert.Equal(field, (string)error["param"]!);
        Assert.StartsWith(expected, (string)error["message"]!);
    }

    [Theory]
    [InlineData("/v1/chat/completions", """{"messages": [{"role": "user", "content": 5}]}""", "messages[0].content", "a string or an array of content parts")]
    [InlineData("/v1/chat/completions", """{"messages": {"role": "user"}}""", "messages", "an array of JSON objects")]
    [InlineData("/v1/completions", """{"prompt": "Hi", "max_tokens": "5"}""", "max_tokens", "an integer")]
    [InlineData("/v1/completions", """{"prompt": "Hi", "temperature": "hot"}""", "temperature", "a number")]
    [InlineData("/v1/compress", """{"contexts": "Chad."}""", "contexts", "an array of strings")]
    [InlineData("/v1/compress", """{"contexts": ["Chad."], "rate": 1.5}""", "rate", "an integer")]
    [InlineData("/v1/answer", """{"question": 7, "contexts": ["Chad."]}""", "question", "a string")]
    public async Task WrongJsonType_Answers400SayingWhatTheFieldTakes(string route, string body, string field, string expected)
    {
        // well-formed JSON with a value of the wrong type was answered "not valid JSON for this field", which sends a
        // client looking for a syntax error; it now says what the field takes
        var response = await Post(route, body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.JsonAsync();
        Assert.Equal(field, (string)problem["error"]!["param"]!);
        string message = (string)problem["error"]!["message"]!;
        Assert.StartsWith($"{field} must be {expected}", message);
        Assert.Contains($"(at $.{field}, line 1, byte ", message);
        Assert.StartsWith("the request body has a field of the wrong type for ", (string)problem["detail"]!);
    }

    [Theory]
    [InlineData("/v1/completions", "a completion request")]
    [InlineData("/v1/chat/completions", "a chat request")]
    [InlineData("/v1/compress", "a compression request")]
    [InlineData("/v1/answer", "an answer request")]
    [InlineData("/v1/reconstruct", "a reconstruction request")]
    public async Task MalformedJson_OnEachRoute_DetailNamesThatRoutesRequest(string route, string kind)
    {
        // it said "not valid JSON for a completion request" on every route, compress and chat included
        var response = await Post(route, "{");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(Http.ProblemJson, response.ContentType()?.MediaType);
        Assert.Equal($"the request body is not valid JSON for {kind}", (string)(await response.JsonAsync())["detail"]!);
    }

    public static TheoryData<string, string> EveryPostRouteWithoutABody()
    {
        var cases = new TheoryData<string, string>();
        foreach (var route in new[] { "/v1/completions", "/v1/chat/completions", "/v1/compress", "/v1/answer", "/v1/reconstruct" })
            foreach (var body in new[] { "", "null", " null " }) cases.Add(route, body);
        return cases;
    }

    [Theory]
    [MemberData(nameof(EveryPostRouteWithoutABody))]
    public async Task EmptyOrNullBody_OnEveryPostRoute_Answers400NeedsAJsonObject(string route, string body)
    {
        // both were 400 with ASP.NET's message for the handler's author: "Implicit body inferred for parameter "request" but no
        // body was provided. Did you mean to use a Service instead?", and no error.param
        var response = await Post(route, body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(Http.ProblemJson, response.ContentType()?.MediaType);
        var problem = await response.JsonAsync();
        Assert.Equal("the request needs a JSON object body", (string)problem["detail"]!);
        Assert.Equal("body", (string)problem["error"]!["param"]!);
        Assert.Equal("invalid_request_error", (string)problem["error"]!["type"]!);
        Assert.StartsWith("the request needs a JSON object body", (string)problem["error"]!["message"]!);
        Assert.DoesNotContain("parameter", problem.ToJsonString());
    }

    [Fact]
    public async Task Chat_ArrayOfTextParts_AnswersAsTheSameStringContent()
    {
        // OpenAI's array-of-parts content, which its official clients and many frameworks send, was a 400 ("not valid JSON for
        // this field", at $.messages[0].content); its text parts now read as their concatenation
        var parts = await Post("/v1/chat/completions", """
            {"messages": [{"role": "system", "content": [{"type": "text", "text": "Be brief."}]},
                          {"role": "user", "content": [{"type": "text", "text": "The ship "}, {"type": "text", "text": "sailed"}]}], "max_tokens": 6}
            """);
        var plain = await Post("/v1/chat/completions", """
            {"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "The ship sailed"}], "max_tokens": 6}
            """);

        Assert.Equal(HttpStatusCode.OK, parts.StatusCode);
        var (byParts, byString) = (await parts.JsonAsync(), await plain.JsonAsync());
        Assert.Equal((int)byString["usage"]!["prompt_tokens"]!, (int)byParts["usage"]!["prompt_tokens"]!);
        Assert.Equal((string)byString["choices"]![0]!["message"]!["content"]!, (string)byParts["choices"]![0]!["message"]!["content"]!);
    }

    [Theory]
    [InlineData("""{"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}""", "message 1 has a content part 1 of type 'image_url'")]
    [InlineData("""{"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}}""", "message 1 has a content part 1 of type 'input_audio'")]
    [InlineData("null", "message 1 has a content part 1 of type 'null'")]
    [InlineData("""{"type": "text"}""", "message 1 has a text content part 1 without text")]
    public async Task Chat_NonTextContentPart_Answers400NamingTheMessageAndPartType(string part, string expected)
    {
        var response = await Post("/v1/chat/completions", $$"""
            {"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": [{"type": "text", "text": "What is this?"}, {{part}}]}], "max_tokens": 2}
            """);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = (await response.JsonAsync())["error"]!;
        Assert.Equal("messages", (string)error["param"]!);
        Assert.Equal("invalid_request_error", (string)error["type"]!);
        Assert.StartsWith(expected, (string)error["message"]!);
    }

    [Fact]
    public async Task Reconstruct_StreamTrue_AnswersServerSentEventsAsAnswerDoes()
    {
        // stream: true was ignored (unknown field): the client asked for events and got one JSON body
        const string body = """{"context": "The capital of Chad is N'Djamena.", "max_tokens": 8""";
        var whole = await (await Post("/v1/reconstruct", body + "}")).JsonAsync();
        var response = await factory.CreateClient().SendAsync(new HttpRequestMessage(HttpMethod.Post, "/v1/reconstruct")
        {
            Content = new StringContent(body + ", \"stream\": true}", Encoding.UTF8, "application/json"),
        }, HttpCompletionOption.ResponseHeadersRead, Token);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.ContentType()?.MediaType);
        var events = await response.EventsAsync(Token);
        Assert.Equal((string)whole["text"]!, string.Concat(events.Select(e => (string)e["text"]!)));
        Assert.Equal((string)whole["finish_reason"]!, (string)events[^1]["finish_reason"]!);
        Assert.Equal((int)whole["usage"]!["completion_tokens"]!, (int)events[^1]["usage"]!["completion_tokens"]!);
    }

    [Theory]
    [InlineData(2100, " word", @"\d+ tokens")]            // tokenized, then refused past MaxPromptTokens (2048)
    [InlineData(1, "", "65537 characters")]                // past 2048 x 32 characters: refused before tokenizing
    public async Task Answer_QuestionPastMaxPromptTokens_Answers400UnderQuestion(int count, string piece, string measured)
    {
        // the question was tokenized whatever its length (only the 1 MB body limit bounded it) and refused, if at all, only
        // after the contexts were compressed, by the decoder's context
        string question = piece.Length > 0 ? string.Concat(Enumerable.Repeat(piece, count)) : new string('a', 2048 * 32 + 1);
        var response = await Post("/v1/answer", $$"""{"question": "{{question}}", "contexts": ["Chad."], "max_tokens": 2}""");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = (await response.JsonAsync())["error"]!;
        Assert.Equal("question", (string)error["param"]!);
        Assert.Matches($"^question is {measured};", (string)error["message"]!);
        Assert.Contains("MaxPromptTokens", (string)error["message"]!);
    }

    [Fact]
    public async Task Compress_VllmPromptEmbeds_TokensOutCountsThePromptRowsRatioTheSoftTokens()
    {
        // tokens_out counted the embedded prompt's rows but ratio did not (13 tokens in, 9 out, ratio 3.25), with nothing in the
        // answer saying how many rows were the prompt's: prompt_tokens says so, and tokens_out - prompt_tokens is the soft tokens
        const string context = "The capital of Chad is N'Djamena. The currency of Chad is the Central African CFA franc.";
        var json = (await (await Post("/v1/compress", $$"""{"contexts": ["{{context}}"], "rate": 4}""")).JsonAsync())["data"]![0]!;
        var vllm = (await (await Post("/v1/compress", $$"""{"contexts": ["{{context}}"], "rate": 4, "format": "vllm-prompt-embeds", "prompt": " Capital? Answer:"}""")).JsonAsync())["data"]![0]!;
        var bare = (await (await Post("/v1/compress", $$"""{"contexts": ["{{context}}"], "rate": 4, "format": "vllm-prompt-embeds"}""")).JsonAsync())["data"]![0]!;

        int soft = (int)json["tokens_out"]!, promptTokens = (int)vllm["prompt_tokens"]!;
        Assert.Null(json["prompt_tokens"]);
        Assert.True(promptTokens > 0);
        Assert.Equal(soft + promptTokens, (int)vllm["tokens_out"]!);
        Assert.Equal((int)vllm["tokens_out"]!, (int)vllm["shape"]![0]!);
        Assert.Equal(Math.Round((double)(int)vllm["tokens_in"]! / soft, 3), (double)vllm["ratio"]!);
        Assert.Equal((double)json["ratio"]!, (double)vllm["ratio"]!);
        Assert.Equal(0, (int)bare["prompt_tokens"]!);
        Assert.Equal(soft, (int)bare["tokens_out"]!);
    }

    [Theory]
    [InlineData("CompletionRequest")]
    [InlineData("ChatRequest")]
    [InlineData("AnswerRequest")]
    [InlineData("ReconstructRequest")]
    public async Task Swagger_StreamField_IsOptionalWithDefaultFalse(string schema)
    {
        // a bool property is listed as required: the document asked every client for stream, which the service defaults to false
        var document = System.Text.Json.Nodes.JsonNode.Parse(await factory.CreateClient().GetStringAsync("/swagger/v1/swagger.json", Token))!;
        var request = document["components"]!["schemas"]![schema]!;

        Assert.DoesNotContain("stream", request["required"]?.AsArray().Select(r => (string)r!) ?? []);
        Assert.False((bool)request["properties"]!["stream"]!["default"]!);
    }

    public void Dispose() => factory.Dispose();
}
