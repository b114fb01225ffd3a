using System.ComponentModel;
using System.ComponentModel.DataAnnotations;

namespace Gmsa.Api.Contracts;

/// <summary>
/// POST /v1/completions. Every field but the prompt may be left out; sampling fields left out take the model folder's
/// generation_config.json values (else greedy).
/// </summary>
public sealed record CompletionRequest : SamplingFields
{
    [Required(ErrorMessage = "prompt is required and must not be empty")]
    [Description("Text to continue, or an array of texts (each completed n times; choices numbered prompt by prompt).")]
    public CompletionPrompt? Prompt { get; init; }

    [Range(1, 8, ErrorMessage = "n must be in [1, 8]")]
    [Description("Completions to generate per prompt (seeds seed, seed+1, ...), each in its own batch row; more than one only without stream.")]
    public int? N { get; init; }

    [Description("A string or up to 4 strings: the text ends before the first of them (finish_reason stop).")]
    public System.Text.Json.JsonElement? Stop { get; init; }
}
