using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Text.Json;
using Gmsa.Engine.Compression;

namespace Gmsa.Api.Contracts;

/// <summary>POST /v1/chat/completions in OpenAI's request shape, with two Gmsa extensions: <c>documents</c> and <c>rate</c>.</summary>
public sealed record ChatRequest : SamplingFields
{
    [Description("Any id; this service answers with the model it serves.")]
    public string? Model { get; init; }

    [Required(ErrorMessage = "messages is required: an array of messages, each with a role and a content"), MinLength(1, ErrorMessage = "messages must hold at least one message")]
    [Description("The conversation: {role: system|developer|user|assistant, content} (developer, OpenAI's newer name for system, is read as system), rendered with the model's chat template. content is a string or, " +
        "as OpenAI's clients send it, an array of text parts ({type: text, text}) read concatenated in order; other part types are refused.")]
    public ChatRequestMessage[]? Messages { get; init; }

    [Range(1, int.MaxValue, ErrorMessage = "max_completion_tokens must be at least 1")]
    [Description("OpenAI's newer name for max_tokens; wins when both are given.")]
    public int? MaxCompletionTokens { get; init; }

    [Range(1, 8, ErrorMessage = "n must be in [1, 8]")]
    [Description("Choices to generate (seeds seed, seed+1, ...); more than one only without stream.")]
    public int? N { get; init; }

    [Description("A string or up to 4 strings: the text ends before the first of them.")]
    public JsonElement? Stop { get; init; }

    [Description("OpenAI's: with stream, {\"include_usage\": true} adds a last chunk before [DONE] with usage and no choices.")]
    public ChatStreamOptions? StreamOptions { get; init; }

    [Description("Gmsa extension: long documents the model reads compressed (GMSA soft tokens, in this order) before the conversation.")]
    public string[]? Documents { get; init; }

    [Range(CompressorConfig.MinRate, CompressorConfig.MaxRate, ErrorMessage = "rate must be in [{1}, {2}]")]
    [Description("Gmsa extension: compression rate for documents; default the compressor's first training rate.")]
    public int? Rate { get; init; }
}

/// <summary>OpenAI's stream_options: include_usage asks for the usage chunk that clients count tokens from.</summary>
public sealed record ChatStreamOptions(bool IncludeUsage = false);

/// <summary>A message as the request sends it: its content a string or an array of parts.</summary>
public sealed record ChatRequestMessage(string Role, ChatContent? Content);

/// <summary>A message as the response carries it.</summary>
public sealed record ChatMessageDto(string Role, string? Content);

public sealed record ChatCompletion(string Id, long Created, string Model, IReadOnlyList<ChatChoice> Choices, CompletionUsage Usage)
{
    public string Object => "chat.completion";
}

public sealed record ChatChoice(int Index, ChatMessageDto Message, string FinishReason);

public sealed record ChatChunk(string Id, long Created, string Model, IReadOnlyList<ChatChunkChoice> Choices)
{
    public string Object => "chat.completion.chunk";
    /// <summary>Only on the last chunk, and only when stream_options.include_usage asked for it (its choices are empty).</summary>
    public CompletionUsage? Usage { get; init; }
}

public sealed record ChatChunkChoice(int Index, ChatDelta Delta, string? FinishReason);

public sealed record ChatDelta(string? Role = null, string? Content = null);
