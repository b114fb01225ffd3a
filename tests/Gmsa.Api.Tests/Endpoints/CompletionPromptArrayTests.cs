using System.Net;
using System.Text.Json.Nodes;
using Gmsa.Api.Tests.Infrastructure;

namespace Gmsa.Api.Tests.Endpoints;

/// <summary>POST /v1/completions with an array of prompts, as LangChain's OpenAI LLM and other batching clients send it.</summary>
public sealed class CompletionPromptArrayTests(ServiceFixture service) : IClassFixture<ServiceFixture>
{
    static CancellationToken Token => TestContext.Current.CancellationToken;

    async Task<JsonObject> PostAsync(string json)
    {
        var response = await service.Factory.CreateClient().PostCompletionAsync(json, Token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.JsonAsync();
    }

    [Fact]
    public async Task Prompts_TwoTimesNTwo_ChoicesPromptByPromptEachAsItsPromptAlone()
    {
        const string settings = "\"max_tokens\": 12, \"temperature\": 0.9, \"seed\": 7, \"n\": 2";
        var both = await PostAsync($$"""{"prompt": ["Lily saw", "Once upon a time"], {{settings}}}""");
        var first = await PostAsync($$"""{"prompt": "Lily saw", {{settings}}}""");
        var second = await PostAsync($$"""{"prompt": "Once upon a time", {{settings}}}""");

        var choices = both["choices"]!.AsArray();
        var alone = first["choices"]!.AsArray().Concat(second["choices"]!.AsArray()).ToArray();
        Assert.Equal(4, choices.Count);
        for (int i = 0; i < 4; i++)
        {
            Assert.Equal(i, (int)choices[i]!["index"]!);
            Assert.Equal((string)alone[i]!["text"]!, (string)choices[i]!["text"]!);
            Assert.Equal((string)alone[i]!["finish_reason"]!, (string)choices[i]!["finish_reason"]!);
        }
        // each prompt counted once, every choice's tokens counted
        Assert.Equal((int)first["usage"]!["prompt_tokens"]! + (int)second["usage"]!["prompt_tokens"]!, (int)both["usage"]!["prompt_tokens"]!);
        Assert.Equal((int)first["usage"]!["completion_tokens"]! + (int)second["usage"]!["completion_tokens"]!, (int)both["usage"]!["completion_tokens"]!);
        Assert.Equal((string)choices[0]!["text"]!, (string)both["text"]!);   // Gmsa's own text: the first choice's
    }

    [Fact]
    public async Task Prompts_ArrayOfOne_SameAsTheString()
    {
        var array = await PostAsync("""{"prompt": ["Lily saw"], "max_tokens": 10}""");
        var text = await PostAsync("""{"prompt": "Lily saw", "max_tokens": 10}""");

        Assert.Equal((string)text["text"]!, (string)array["text"]!);
        Assert.Equal((int)text["usage"]!["total_tokens"]!, (int)array["usage"]!["total_tokens"]!);
    }

    [Theory]
    [InlineData("""{"prompt": ["Lily saw", ""]}""", "prompt 1 is empty")]
    [InlineData("""{"prompt": ["Lily saw", null]}""", "prompt 1 is empty")]
    [InlineData("""{"prompt": []}""", "prompt is required and must not be empty")]
    [InlineData("""{"prompt": [1, 2, 3]}""", "prompt must be a string or an array of strings")]
    [InlineData("""{"prompt": ["a", "b"], "stream": true}""", "several prompts are supported without stream only")]
    [InlineData("""{"prompt": ["a", "b", "c", "d", "e", "f", "g", "h", "i"], "n": 8}""", "9 prompts x n 8 are 72 completions; this service admits at most 64 at once")]
    public async Task Prompts_BadArray_400UnderPrompt(string json, string expected)
    {
        var response = await service.Factory.CreateClient().PostCompletionAsync(json, Token);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(expected, (string)(await response.JsonAsync())["errors"]!["prompt"]![0]!);
    }

    [Fact]
    public async Task Prompts_OneTooLongForTheContext_400NamingIt()
    {
        var longText = string.Join(' ', Enumerable.Repeat("Lily saw a big dog.", 40));
        var response = await service.Factory.CreateClient().PostCompletionAsync($$"""{"prompt": ["Lily saw", "{{longText}}"], "max_tokens": 300}""", Token);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var errors = (await response.JsonAsync())["errors"]!.AsObject();
        Assert.StartsWith("prompt 1 (", (string)errors["max_tokens"]![0]!);
    }

    [Fact]
    public async Task Swagger_CompletionPrompt_StringOrArrayOfStrings()
    {
        var document = JsonNode.Parse(await service.Factory.CreateClient().GetStringAsync("/swagger/v1/swagger.json", Token))!;
        var prompt = document["components"]!["schemas"]!["CompletionRequest"]!["properties"]!["prompt"]!;
        var schema = prompt["$ref"] is { } reference
            ? document["components"]!["schemas"]![((string)reference!).Split('/')[^1]]!
            : prompt;

        var types = schema["oneOf"]!.AsArray().Select(s => (string)s!["type"]!).ToArray();
        Assert.Equal(["string", "array"], types);
        Assert.Equal("string", (string)schema["oneOf"]![1]!["items"]!["type"]!);
    }
}
