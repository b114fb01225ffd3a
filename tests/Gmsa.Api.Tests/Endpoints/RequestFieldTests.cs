using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gmsa.Api.Tests.Infrastructure;

namespace Gmsa.Api.Tests.Endpoints;

/// <summary>
/// Fields as OpenAI's clients send them (stop: [], role developer), fields that cannot apply (a rate with compressed ids),
/// integers past their range, and one problem type and title per status on every route; against the embedded gmsa-tiny.
/// </summary>
public sealed class RequestFieldTests : IDisposable
{
    readonly ApiFactory factory = new(modelDir: null);
    static CancellationToken Token => TestContext.Current.CancellationToken;
    const string UnknownId = "cmp-00000000000000000000000000000000";
    const string Chad = "The capital of Chad is N'Djamena. The currency of Chad is the Central African CFA franc.";
    const string Completion = "\"prompt\": \"Once upon a time\"";
    const string Chat = "\"messages\": [{\"role\": \"user\", \"content\": \"Once upon a time\"}]";
    const string Answer = "\"question\": \" Capital?\", \"contexts\": [\"" + Chad + "\"]";
    const string Reconstruct = "\"context\": \"" + Chad + "\"";

    Task<HttpResponseMessage> Post(string route, string json, string contentType = "application/json") =>
        factory.CreateClient().PostAsync(route, new StringContent(json, Encoding.UTF8, contentType), Token);

    /// <summary>The generated text, as completions, answers and reconstructions (text) or chat (the message) carry it.</summary>
    static string Text(JsonObject body) => (string?)body["text"] ?? (string)body["choices"]![0]!["message"]!["content"]!;

    [Theory]
    [InlineData("/v1/completions", Completion)]
    [InlineData("/v1/chat/completions", Chat)]
    [InlineData("/v1/answer", Answer)]
    [InlineData("/v1/reconstruct", Reconstruct)]
    public async Task Stop_EmptyArray_ReadAsNoStopStrings(string route, string fields)
    {
        // OpenAI reads stop: [] as no stop strings, and clients that serialize every field send it
        var without = await Post(route, "{" + fields + ", \"max_tokens\": 6}");
        var empty = await Post(route, "{" + fields + ", \"max_tokens\": 6, \"stop\": []}");

        Assert.Equal(HttpStatusCode.OK, empty.StatusCode);
        Assert.Equal(Text(await without.JsonAsync()), Text(await empty.JsonAsync()));
    }

    [Theory]
    [InlineData("/v1/completions", Completion, "[\"\"]", "stop[0] is an empty string, which would end the text before it starts")]
    [InlineData("/v1/chat/completions", Chat, "\"\"", "stop is an empty string")]
    [InlineData("/v1/answer", Answer, "[\"a\", \"\"]", "stop[1] is an empty string")]
    [InlineData("/v1/reconstruct", Reconstruct, "[\"\"]", "stop[0] is an empty string")]
    [InlineData("/v1/reconstruct", Reconstruct, "[\"a\", \"b\", \"c\", \"d\", \"e\"]", "stop has 5 strings; at most 4 are taken")]
    [InlineData("/v1/reconstruct", Reconstruct, "5", "stop must be a string or an array of at most 4 strings")]
    [InlineData("/v1/completions", Completion, "[\"a\", 5]", "stop must be a string or an array of at most 4 strings")]
    public async Task Stop_EmptyStringOrWrongShape_Answers400UnderStop(string route, string fields, string stop, string expected)
    {
        // one message said all of these ("a non-empty string or an array of at most 4 non-empty strings"); reconstruct had no stop
        var response = await Post(route, "{" + fields + ", \"max_tokens\": 2, \"stop\": " + stop + "}");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = (await response.JsonAsync())["error"]!;
        Assert.Equal("stop", (string)error["param"]!);
        Assert.StartsWith(expected, (string)error["message"]!);
    }

    [Fact]
    public async Task Reconstruct_Stop_EndsTheRestatementBeforeIt()
    {
        // /v1/answer took stop and /v1/reconstruct ignored it (an unknown field): the restatement ran to max_tokens
        const string fields = Reconstruct + ", \"max_tokens\": 24";
        string whole = Text(await (await Post("/v1/reconstruct", "{" + fields + "}")).JsonAsync());
        Assert.True(whole.Length >= 8, $"the restatement '{whole}' is too short to cut");
        string stop = whole.Substring(whole.Length / 2, 3);

        var cut = await (await Post("/v1/reconstruct", "{" + fields + ", \"stop\": [" + JsonSerializer.Serialize(stop) + "]}")).JsonAsync();

        Assert.Equal(whole[..whole.IndexOf(stop, StringComparison.Ordinal)], Text(cut));
        Assert.Equal("stop", (string)cut["finish_reason"]!);
    }

    [Theory]
    [InlineData("/v1/answer", "\"question\": \" Q?\", \"compressed_ids\": [\"" + UnknownId + "\"], \"rate\": 8", "compressed_ids were compressed at their own rate")]
    [InlineData("/v1/reconstruct", "\"compressed_id\": \"" + UnknownId + "\", \"rate\": 8", "compressed_id was compressed at its own rate")]
    public async Task RateWithCompressedIds_Answers400UnderRate(string route, string fields, string expected)
    {
        // the rate was ignored without a word: soft tokens keep the rate they were compressed at
        var response = await Post(route, "{" + fields + ", \"max_tokens\": 2}");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = (await response.JsonAsync())["error"]!;
        Assert.Equal("rate", (string)error["param"]!);
        Assert.StartsWith("rate applies to contexts given as text; " + expected, (string)error["message"]!);
    }

    [Theory]
    [InlineData("/v1/compress", "\"contexts\": [\"Chad.\"], \"rate\": 0")]
    [InlineData("/v1/answer", Answer + ", \"rate\": 1025")]
    [InlineData("/v1/reconstruct", Reconstruct + ", \"rate\": 0")]
    [InlineData("/v1/chat/completions", Chat + ", \"documents\": [\"Chad.\"], \"rate\": 1025")]
    public async Task RateOutsideItsRange_Answers400WithTheRange(string route, string fields)
    {
        // the bound is the engine's CompressorConfig.MinRate/MaxRate, which the command line's --rate takes too
        var response = await Post(route, "{" + fields + ", \"max_tokens\": 2}");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = (await response.JsonAsync())["error"]!;
        Assert.Equal("rate", (string)error["param"]!);
        Assert.StartsWith("rate must be in [1, 1024]", (string)error["message"]!);
    }

    [Fact]
    public async Task Chat_DeveloperRole_ReadAsASystemMessage()
    {
        // OpenAI's current clients send role developer (its newer name for system) for o-series models: it was a 400
        string Body(string role) => $$"""{"messages": [{"role": "{{role}}", "content": "Be brief."}, {"role": "user", "content": "The ship sailed"}], "max_tokens": 6}""";
        var developer = await Post("/v1/chat/completions", Body("developer"));
        var system = await Post("/v1/chat/completions", Body("system"));

        Assert.Equal(HttpStatusCode.OK, developer.StatusCode);
        var (byDeveloper, bySystem) = (await developer.JsonAsync(), await system.JsonAsync());
        Assert.Equal((int)bySystem["usage"]!["prompt_tokens"]!, (int)byDeveloper["usage"]!["prompt_tokens"]!);
        Assert.Equal(Text(bySystem), Text(byDeveloper));
    }

    [Theory]
    [InlineData("/v1/completions", "\"prompt\": \"Hi\", \"seed\": 18446744073709551616", "seed", "an integer from -9223372036854775808 to 9223372036854775807")]
    [InlineData("/v1/answer", Answer + ", \"seed\": -9223372036854775809", "seed", "an integer from -9223372036854775808 to 9223372036854775807")]
    [InlineData("/v1/completions", "\"prompt\": \"Hi\", \"max_tokens\": 2147483648", "max_tokens", "an integer from 1 to 2147483647")]   // said from -2147483648
    [InlineData("/v1/completions", "\"prompt\": \"Hi\", \"max_tokens\": 1e10", "max_tokens", "an integer from 1 to 2147483647")]
    [InlineData("/v1/completions", "\"prompt\": \"Hi\", \"top_k\": -2147483649", "top_k", "an integer from 0 to 2147483647")]
    [InlineData("/v1/chat/completions", Chat + ", \"n\": 99999999999", "n", "an integer from 1 to 8")]
    [InlineData("/v1/compress", "\"contexts\": [\"Chad.\"], \"rate\": 4294967296", "rate", "an integer from 1 to 1024")]
    [InlineData("/v1/compress", "\"context_ids\": [[5, 99999999999]]", "context_ids[0][1]", "an integer from -2147483648 to 2147483647")]
    public async Task IntegerPastItsRange_Answers400WithTheFieldsRange(string route, string fields, string field, string expected)
    {
        // "seed must be an integer" for an integer, and the type's range for fields whose [Range] is narrower
        var response = await Post(route, "{" + fields + "}");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = (await response.JsonAsync())["error"]!;
        Assert.Equal(field, (string)error["param"]!);
        Assert.StartsWith($"{field} must be {expected} (at $.{field}, line 1, byte ", (string)error["message"]!);
    }

    [Theory]
    [InlineData("POST", "/v1/completions", """{"prompt": ""}""", 400)]                                          // DataAnnotations
    [InlineData("POST", "/v1/chat/completions", """{"messages": []}""", 400)]
    [InlineData("POST", "/v1/answer", """{"question": "Q", "contexts": ["a"], "stop": 5}""", 400)]              // a handler's check
    [InlineData("POST", "/v1/compress", "{", 400)]                                                                // the body reader
    [InlineData("POST", "/v1/reconstruct", "", 400)]
    [InlineData("GET", "/v1/nothing-here", null, 404)]                                                            // status pages
    [InlineData("GET", "/v1/models/other", null, 404)]                                                            // handlers
    [InlineData("POST", "/v1/answer", """{"question": "Q", "compressed_ids": ["cmp-00000000000000000000000000000000"]}""", 404)]
    [InlineData("GET", "/v1/completions", null, 405)]
    [InlineData("POST", "/v1/completions", "prompt=Hi", 415)]
    public async Task Error_AnyRouteOrSource_HasTheStatussTypeAndTitleAndSaysWhatInDetail(string method, string route, string? body, int status)
    {
        // a 400 was titled "The chat request is not valid", "One or more validation errors occurred.", "The request body is
        // not valid JSON for ..." by route and source; a 404 "Unknown compressed_id", "No such model" or "Not Found"
        var request = new HttpRequestMessage(new HttpMethod(method), route);
        if (body is not null) request.Content = new StringContent(body, Encoding.UTF8, body.StartsWith("prompt=", StringComparison.Ordinal) ? "text/plain" : "application/json");
        var response = await factory.CreateClient().SendAsync(request, Token);

        Assert.Equal(status, (int)response.StatusCode);
        var problem = await response.JsonAsync();
        var (type, title) = status switch
        {
            400 => ("https://tools.ietf.org/html/rfc9110#section-15.5.1", "Bad Request"),
            404 => ("https://tools.ietf.org/html/rfc9110#section-15.5.5", "Not Found"),
            405 => ("https://tools.ietf.org/html/rfc9110#section-15.5.6", "Method Not Allowed"),
            _ => ("https://tools.ietf.org/html/rfc9110#section-15.5.16", "Unsupported Media Type"),
        };
        Assert.Equal(type, (string)problem["type"]!);
        Assert.Equal(title, (string)problem["title"]!);
        Assert.False(string.IsNullOrEmpty((string?)problem["detail"]), $"no detail in {problem.ToJsonString()}");
    }

    public void Dispose() => factory.Dispose();
}
