using System.Net.Http.Headers;
using System.Net.ServerSentEvents;
using System.Text;
using System.Text.Json.Nodes;

namespace Gmsa.Api.Tests.Infrastructure;

/// <summary>Raw JSON in, parsed JSON out: the tests see exactly what a client sends and receives.</summary>
public static class Http
{
    public const string ProblemJson = "application/problem+json";

    public static Task<HttpResponseMessage> PostCompletionAsync(this HttpClient client, string json, CancellationToken cancellation = default) =>
        client.PostAsync("/v1/completions", new StringContent(json, Encoding.UTF8, "application/json"), cancellation);

    /// <summary>Sends and returns once the headers arrived, so a stream can be read while it is produced.</summary>
    public static Task<HttpResponseMessage> PostStreamingAsync(this HttpClient client, string json, CancellationToken cancellation = default) =>
        client.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/v1/completions") { Content = new StringContent(json, Encoding.UTF8, "application/json") },
            HttpCompletionOption.ResponseHeadersRead, cancellation);

    public static async Task<JsonObject> JsonAsync(this HttpResponseMessage response) =>
        JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();

    /// <summary>Every server-sent event's data, parsed as JSON; the stream must end with OpenAI's "data: [DONE]".</summary>
    public static async Task<List<JsonObject>> EventsAsync(this HttpResponseMessage response, CancellationToken cancellation = default)
    {
        var events = new List<JsonObject>();
        bool done = false;
        await using var body = await response.Content.ReadAsStreamAsync(cancellation);
        await foreach (var item in SseParser.Create(body).EnumerateAsync(cancellation))
        {
            Assert.False(done, "an event came after [DONE]");
            if (item.Data == "[DONE]") { done = true; continue; }
            events.Add(JsonNode.Parse(item.Data)!.AsObject());
        }
        Assert.True(done, "the stream did not end with data: [DONE]");
        return events;
    }

    public static MediaTypeHeaderValue? ContentType(this HttpResponseMessage response) => response.Content.Headers.ContentType;
}
