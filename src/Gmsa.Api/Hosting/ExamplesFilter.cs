using System.Text.Json.Nodes;
using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace Gmsa.Api.Hosting;

/// <summary>A request and a 200 response example for every route, so Swagger UI's "Try it out" starts from a working body.</summary>
public sealed class ExamplesFilter : IOperationFilter
{
    const string Chad = "The capital of Chad is N'Djamena. The currency of Chad is the Central African CFA franc.";

    static readonly Dictionary<string, (string? Request, string Response)> Examples = new()
    {
        ["CreateCompletion"] = ("""{"prompt": "It was a cold morning in", "max_tokens": 24}""",
            """{"id": "cmpl-1", "object": "text_completion", "created": 1764600000, "model": "gmsa-tiny", "text": " the room.", "finish_reason": "length", "choices": [{"index": 0, "text": " the room.", "finish_reason": "length"}], "usage": {"prompt_tokens": 7, "completion_tokens": 24, "total_tokens": 31}, "timings": {"queue_ms": 0.4, "prefill_ms": 12.1, "decode_tokens_per_s": 480.2, "batch_size": 1}}"""),
        ["CreateChatCompletion"] = ($$"""{"messages": [{"role": "user", "content": "Question: What is the capital of Chad? Answer:"}], "documents": ["{{Chad}}"], "max_tokens": 16}""",
            """{"id": "chatcmpl-1", "object": "chat.completion", "created": 1764600000, "model": "gmsa-tiny", "choices": [{"index": 0, "message": {"role": "assistant", "content": " N'Djamena"}, "finish_reason": "stop"}], "usage": {"prompt_tokens": 31, "completion_tokens": 4, "total_tokens": 35}}"""),
        ["Compress"] = ($$"""{"contexts": ["{{Chad}}"], "rate": 4, "format": "base64-bfloat16"}""",
            """{"model": "gmsa-tiny", "rate": 4, "data": [{"compressed_id": "cmp-62b61675e1ce5e4aded456dc3650047c", "shape": [7, 384], "dtype": "bfloat16", "tokens_in": 26, "tokens_out": 7, "ratio": 3.714, "cached": false, "data": "Ej7hPoi/..."}]}"""),
        ["Answer"] = ("""{"compressed_ids": ["cmp-62b61675e1ce5e4aded456dc3650047c"], "question": " Question: What is the capital of Chad? Answer:", "max_tokens": 12}""",
            """{"id": "ans-1", "model": "gmsa-tiny", "text": " N'Djamena", "finish_reason": "stop", "usage": {"prompt_tokens": 21, "completion_tokens": 4, "total_tokens": 25}, "timings": {"queue_ms": 0.3, "prefill_ms": 9.8, "decode_tokens_per_s": 450.0, "batch_size": 1}, "compression": {"soft_tokens": 7, "context_tokens": 26, "cache_hits": 1, "compression_ms": 0}}"""),
        ["Reconstruct"] = ("""{"compressed_id": "cmp-62b61675e1ce5e4aded456dc3650047c", "max_tokens": 40}""",
            """{"id": "ans-2", "model": "gmsa-tiny", "text": " The capital of Chad is N'Djamena.", "finish_reason": "stop", "usage": {"prompt_tokens": 14, "completion_tokens": 11, "total_tokens": 25}, "timings": {"queue_ms": 0.2, "prefill_ms": 8.0, "decode_tokens_per_s": 470.0, "batch_size": 1}, "compression": {"soft_tokens": 7, "context_tokens": 26, "cache_hits": 1, "compression_ms": 0}}"""),
        ["ListModels"] = (null, """{"object": "list", "data": [{"id": "gmsa-tiny", "object": "model", "created": 1764600000, "owned_by": "gmsa", "family": "llama", "parameters": 22029696, "context_length": 1024, "vocab_size": 8192, "dtype": "bfloat16", "device": "cpu", "tokenizer": "SentencePiece (tokenizer.model)", "compression_rates": [4, 8]}]}"""),
        ["GetModel"] = (null, """{"id": "gmsa-tiny", "object": "model", "created": 1764600000, "owned_by": "gmsa", "family": "llama", "parameters": 22029696, "context_length": 1024, "vocab_size": 8192, "dtype": "bfloat16", "device": "cpu", "tokenizer": "SentencePiece (tokenizer.model)", "compression_rates": [4, 8]}"""),
    };

    public void Apply(OpenApiOperation operation, OperationFilterContext context)
    {
        if (operation.OperationId is not { } id || !Examples.TryGetValue(id, out var example)) return;
        if (example.Request is { } request && operation.RequestBody?.Content?.TryGetValue("application/json", out var body) == true && body is OpenApiMediaType media)
            media.Example = JsonNode.Parse(request);
        if (operation.Responses?.TryGetValue("200", out var ok) == true && ok.Content?.TryGetValue("application/json", out var content) == true && content is OpenApiMediaType okMedia)
            okMedia.Example = JsonNode.Parse(example.Response);
    }
}
