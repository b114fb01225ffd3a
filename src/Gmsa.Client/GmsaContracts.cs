using System.Text.Json.Serialization;

namespace Gmsa.Client;

/// <summary>
/// One compressed context as /v1/compress returns it: <see cref="Embedding"/> with format json, <see cref="Data"/> with the
/// base64 formats, and with vllm-prompt-embeds also <see cref="PromptTokens"/> (the prompt's rows after the soft tokens).
/// </summary>
public sealed record CompressedContext(
    [property: JsonPropertyName("compressed_id")] string CompressedId,
    [property: JsonPropertyName("shape")] int[] Shape,
    [property: JsonPropertyName("dtype")] string Dtype,
    [property: JsonPropertyName("tokens_in")] int TokensIn,
    [property: JsonPropertyName("tokens_out")] int TokensOut,
    [property: JsonPropertyName("ratio")] double Ratio,
    [property: JsonPropertyName("cached")] bool Cached,
    [property: JsonPropertyName("embedding")] float[][]? Embedding,
    [property: JsonPropertyName("data")] string? Data = null,
    [property: JsonPropertyName("prompt_tokens")] int? PromptTokens = null);

/// <summary>An answer or reconstruction over soft tokens.</summary>
public sealed record Answer(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("text")] string Text,
    [property: JsonPropertyName("finish_reason")] string FinishReason,
    [property: JsonPropertyName("usage")] Usage Usage,
    [property: JsonPropertyName("compression")] AnswerCompression Compression);

public sealed record Usage(
    [property: JsonPropertyName("prompt_tokens")] int PromptTokens,
    [property: JsonPropertyName("completion_tokens")] int CompletionTokens,
    [property: JsonPropertyName("total_tokens")] int TotalTokens);

public sealed record AnswerCompression(
    [property: JsonPropertyName("soft_tokens")] int SoftTokens,
    [property: JsonPropertyName("context_tokens")] int ContextTokens,
    [property: JsonPropertyName("cache_hits")] int CacheHits,
    [property: JsonPropertyName("compression_ms")] double CompressionMs);

/// <summary>The service answered with an error: its status and the problem's message (RFC 9457 / OpenAI error object).</summary>
public sealed class GmsaApiException(int status, string message) : Exception(message)
{
    public int Status { get; } = status;
}
