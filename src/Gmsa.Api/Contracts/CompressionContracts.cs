using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using Gmsa.Engine.Compression;

namespace Gmsa.Api.Contracts;

/// <summary>POST /v1/compress: contexts in, one soft-token tensor per context out.</summary>
public sealed record CompressRequest
{
    [Description("Texts to compress, each on its own (a retrieved document, a chapter...). Give contexts or context_ids.")]
    public string[]? Contexts { get; init; }

    [Description("Contexts as token ids of the model's tokenizer (no BOS), instead of text.")]
    public int[][]? ContextIds { get; init; }

    [Range(CompressorConfig.MinRate, CompressorConfig.MaxRate, ErrorMessage = "rate must be in [{1}, {2}]")]
    [Description("Compression rate r: about one soft token per r context tokens. Default: the compressor's first training rate.")]
    public int? Rate { get; init; }

    [Description("json (floats, the default), base64-float32, base64-bfloat16 (little-endian, row after row), safetensors or npy (a binary body; npy for one context, float32), " +
        "or vllm-prompt-embeds: base64 of a torch.save'd [tokens, hidden] tensor, the soft tokens followed by the embedded prompt, for vLLM's --enable-prompt-embeds.")]
    public string? Format { get; init; }

    [Description("vllm-prompt-embeds only: text embedded after each context's soft tokens (the question), so vLLM reads [soft ; prompt].")]
    public string? Prompt { get; init; }
}

/// <summary>One compressed context. <c>embedding</c> (json) or <c>data</c> (base64) holds the [n, hidden] values.</summary>
public sealed record CompressedContext(
    string CompressedId,
    int[] Shape,
    string Dtype,
    [property: Description("The context's tokens.")] int TokensIn,
    [property: Description("Rows of the returned tensor (shape[0]): the soft tokens, plus prompt_tokens with vllm-prompt-embeds.")] int TokensOut,
    [property: Description("tokens_in / soft tokens, in every format (the prompt's rows not counted).")] double Ratio,
    bool Cached,
    float[][]? Embedding = null,
    string? Data = null,
    [property: Description("vllm-prompt-embeds only: the embedded prompt's rows after the soft tokens (0 without a prompt).")] int? PromptTokens = null);

public sealed record CompressResponse(string Model, int Rate, IReadOnlyList<CompressedContext> Data);

/// <summary>POST /v1/answer: a question over contexts (compressed here, or cached by an earlier /v1/compress).</summary>
public sealed record AnswerRequest : SamplingFields
{
    [Required(AllowEmptyStrings = false, ErrorMessage = "question is required and must not be empty")]
    [Description("What to ask; read by the decoder after the soft tokens, e.g. \" Question: What is the capital of Chad? Answer:\".")]
    public string? Question { get; init; }

    [Description("Contexts as text; their soft tokens are read in this order. Give contexts or compressed_ids.")]
    public string[]? Contexts { get; init; }

    [Description("Ids from /v1/compress, instead of the contexts' text.")]
    public string[]? CompressedIds { get; init; }

    [Range(CompressorConfig.MinRate, CompressorConfig.MaxRate, ErrorMessage = "rate must be in [{1}, {2}]")]
    [Description("Rate for contexts given as text (refused with compressed_ids: they were compressed at their own). Default: the compressor's first training rate.")]
    public int? Rate { get; init; }

    [Description("A string or up to 4 strings, as OpenAI's stop: the answer ends before the first of them (finish_reason stop); [] is none.")]
    public System.Text.Json.JsonElement? Stop { get; init; }
}

/// <summary>POST /v1/reconstruct: what the decoder restates from a compressed context.</summary>
public sealed record ReconstructRequest
{
    [Description("An id from /v1/compress; or give context.")]
    public string? CompressedId { get; init; }

    [Description("The context as text (compressed at rate).")]
    public string? Context { get; init; }

    [Range(CompressorConfig.MinRate, CompressorConfig.MaxRate, ErrorMessage = "rate must be in [{1}, {2}]")]
    [Description("Rate for a context given as text (refused with compressed_id: it was compressed at its own). Default: the compressor's first training rate.")]
    public int? Rate { get; init; }

    [Range(1, int.MaxValue, ErrorMessage = "max_tokens must be at least 1")]
    public int? MaxTokens { get; init; }

    [Description("A string or up to 4 strings, as /v1/answer takes them: the restatement ends before the first of them (finish_reason stop); [] is none.")]
    public System.Text.Json.JsonElement? Stop { get; init; }

    [Description("Answer with server-sent events, as /v1/answer does: one per text piece, then a final one with finish_reason and usage. null is false.")]
    [System.Text.Json.Serialization.JsonConverter(typeof(NullAsFalseConverter))]
    public bool Stream { get; init; }
}

/// <summary>An answer or reconstruction: the completion's fields plus what the compression did.</summary>
public sealed record AnswerResponse(
    string Id,
    string Model,
    string Text,
    string FinishReason,
    CompletionUsage Usage,
    CompletionTimings Timings,
    AnswerCompression Compression);

/// <param name="SoftTokens">soft tokens the decoder read in place of the contexts</param>
/// <param name="ContextTokens">tokens the contexts had</param>
/// <param name="CacheHits">contexts whose soft tokens came from the cache</param>
/// <param name="CompressionMs">time spent compressing (0 when every context was cached)</param>
public sealed record AnswerCompression(int SoftTokens, int ContextTokens, int CacheHits, double CompressionMs);
