using System.Net.Http.Json;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;

namespace Gmsa.Client;

/// <summary>
/// The Gmsa service from .NET: compress contexts once, answer questions over them by id, see what the compression kept,
/// and chat through <see cref="IChatClient"/> (Microsoft.Extensions.AI), streaming too, so RAG code written against
/// IChatClient uses Gmsa without glue. Long documents go in <see cref="ChatOptions.AdditionalProperties"/> under
/// <see cref="DocumentsKey"/> (and the rate under <see cref="RateKey"/>): the service reads them compressed.
/// Give it an HttpClient whose BaseAddress is the service (a typed client from IHttpClientFactory, or your own).
/// </summary>
public sealed class GmsaClient(HttpClient http) : IChatClient
{
    public const string DocumentsKey = "documents", RateKey = "rate";

    static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>
    /// POST /v1/compress: one soft-token tensor (and id) per context; <paramref name="format"/> json fills
    /// <see cref="CompressedContext.Embedding"/>, base64-float32, base64-bfloat16 or vllm-prompt-embeds fill
    /// <see cref="CompressedContext.Data"/>. <paramref name="prompt"/> (vllm-prompt-embeds only) is embedded after each
    /// context's soft tokens, so vLLM reads [soft ; prompt].
    /// </summary>
    public async Task<IReadOnlyList<CompressedContext>> CompressAsync(IEnumerable<string> contexts, int? rate = null, CancellationToken cancellation = default,
        string format = "json", string? prompt = null)
    {
        var request = new JsonObject { ["contexts"] = Array(contexts), ["rate"] = rate, ["format"] = format };
        if (prompt is not null) request["prompt"] = prompt;
        var body = await PostAsync("/v1/compress", request, cancellation);
        return body["data"].Deserialize<CompressedContext[]>(Json)!;
    }

    /// <summary>
    /// POST /v1/answer over contexts given as text or as ids from <see cref="CompressAsync"/> (greedy unless told); the
    /// answer ends before the first of <paramref name="stop"/>'s strings. <paramref name="rate"/> is for contexts: ids keep
    /// the rate they were compressed at, and the service refuses a rate sent with them.
    /// </summary>
    public async Task<Answer> AnswerAsync(string question, IEnumerable<string>? contexts = null, IEnumerable<string>? compressedIds = null,
        int? rate = null, int? maxTokens = null, double? temperature = null, CancellationToken cancellation = default, IEnumerable<string>? stop = null)
    {
        var request = new JsonObject { ["question"] = question, ["rate"] = rate, ["max_tokens"] = maxTokens, ["temperature"] = temperature };
        if (stop is not null) request["stop"] = Array(stop);
        if (contexts is not null) request["contexts"] = Array(contexts);
        if (compressedIds is not null) request["compressed_ids"] = Array(compressedIds);
        return (await PostAsync("/v1/answer", request, cancellation)).Deserialize<Answer>(Json)!;
    }

    /// <summary>POST /v1/reconstruct: the decoder's restatement of a compressed context, ended before the first of <paramref name="stop"/>'s strings.</summary>
    public async Task<Answer> ReconstructAsync(string compressedId, int? maxTokens = null, CancellationToken cancellation = default, IEnumerable<string>? stop = null)
    {
        var request = new JsonObject { ["compressed_id"] = compressedId, ["max_tokens"] = maxTokens };
        if (stop is not null) request["stop"] = Array(stop);
        return (await PostAsync("/v1/reconstruct", request, cancellation)).Deserialize<Answer>(Json)!;
    }

    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var body = await PostAsync("/v1/chat/completions", ChatRequest(messages, options, stream: false), cancellationToken);
        var choice = body["choices"]![0]!;
        var usage = body["usage"]!;
        return new ChatResponse(new ChatMessage(ChatRole.Assistant, (string?)choice["message"]!["content"]))
        {
            ResponseId = (string?)body["id"],
            ModelId = (string?)body["model"],
            CreatedAt = DateTimeOffset.FromUnixTimeSeconds((long)body["created"]!),
            FinishReason = Finish((string?)choice["finish_reason"]),
            Usage = Usage(usage),
        };
    }

    static UsageDetails Usage(JsonNode usage) => new()
    {
        InputTokenCount = (int)usage["prompt_tokens"]!,
        OutputTokenCount = (int)usage["completion_tokens"]!,
        TotalTokenCount = (int)usage["total_tokens"]!,
    };

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = JsonContent.Create(ChatRequest(messages, options, stream: true)) };
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        await ThrowIfFailedAsync(response, cancellationToken);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken));
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (!line.StartsWith("data: ", StringComparison.Ordinal)) continue;   // server-sent events: blank lines end events
            var data = line["data: ".Length..];
            if (data == "[DONE]") yield break;
            var chunk = JsonNode.Parse(data)!;
            // A stream that already answered 200 reports a late failure (its deadline) as an OpenAI error event.
            if (chunk["error"] is { } error)
                throw new GmsaApiException(int.TryParse((string?)error["code"], out var status) ? status : 500, (string?)error["message"] ?? "the stream failed");
            if (chunk["choices"] is JsonArray { Count: 0 } && chunk["usage"] is { } usage)
            {
                yield return new ChatResponseUpdate(ChatRole.Assistant, [new UsageContent(Usage(usage))]) { ResponseId = (string?)chunk["id"], ModelId = (string?)chunk["model"] };
                continue;
            }
            var choice = chunk["choices"]![0]!;
            var delta = choice["delta"]!;
            yield return new ChatResponseUpdate((string?)delta["role"] is { } role ? new ChatRole(role) : null, (string?)delta["content"])
            {
                ResponseId = (string?)chunk["id"],
                ModelId = (string?)chunk["model"],
                FinishReason = Finish((string?)choice["finish_reason"]),
            };
        }
    }

    static JsonObject ChatRequest(IEnumerable<ChatMessage> messages, ChatOptions? options, bool stream)
    {
        var request = new JsonObject
        {
            ["messages"] = new JsonArray(messages.Select(m => (JsonNode)new JsonObject { ["role"] = m.Role.Value, ["content"] = m.Text }).ToArray()),
            ["model"] = options?.ModelId,
            ["max_tokens"] = options?.MaxOutputTokens,
            ["temperature"] = options?.Temperature,
            ["top_p"] = options?.TopP,
            ["top_k"] = options?.TopK,
            ["frequency_penalty"] = options?.FrequencyPenalty,
            ["presence_penalty"] = options?.PresencePenalty,
            ["seed"] = options?.Seed,
            ["stream"] = stream,
        };
        if (stream) request["stream_options"] = new JsonObject { ["include_usage"] = true };   // the last chunk: usage, as UsageContent
        if (options?.StopSequences is { Count: > 0 } stops) request["stop"] = Array(stops);
        if (options?.AdditionalProperties is { } extra)
        {
            if (extra.TryGetValue(DocumentsKey, out var documents) && documents is IEnumerable<string> texts) request["documents"] = Array(texts);
            if (extra.TryGetValue(RateKey, out var rate) && rate is int r) request["rate"] = r;
        }
        return request;
    }

    static ChatFinishReason? Finish(string? reason) => reason switch
    {
        "stop" => ChatFinishReason.Stop,
        "length" => ChatFinishReason.Length,
        null => null,
        var other => new ChatFinishReason(other),
    };

    static JsonArray Array(IEnumerable<string> values) => new(values.Select(v => (JsonNode)JsonValue.Create(v)!).ToArray());

    async Task<JsonNode> PostAsync(string route, JsonObject body, CancellationToken cancellation)
    {
        using var response = await http.PostAsJsonAsync(route, body, cancellation);
        await ThrowIfFailedAsync(response, cancellation);
        return (await response.Content.ReadFromJsonAsync<JsonNode>(cancellation))!;
    }

    static async Task ThrowIfFailedAsync(HttpResponseMessage response, CancellationToken cancellation)
    {
        if (response.IsSuccessStatusCode) return;
        string message = $"{(int)response.StatusCode} {response.ReasonPhrase}";
        try
        {
            var problem = JsonNode.Parse(await response.Content.ReadAsStringAsync(cancellation));
            message = (string?)problem?["error"]?["message"] ?? (string?)problem?["detail"] ?? (string?)problem?["title"] ?? message;
        }
        catch (JsonException) { }
        throw new GmsaApiException((int)response.StatusCode, message);
    }

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is null && serviceType.IsInstanceOfType(this) ? this : null;

    public void Dispose() { }   // the HttpClient belongs to whoever gave it
}
