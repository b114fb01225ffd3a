using System.Diagnostics.CodeAnalysis;
using Gmsa.Api.Options;
using Gmsa.Engine.Generation;
using Gmsa.Engine.Serving;
using Microsoft.Extensions.Options;

namespace Gmsa.Api.Contracts;

/// <summary>
/// The checks that need the model or the service's limits (field ranges are DataAnnotations on
/// <see cref="CompletionRequest"/>): tokenizes the prompt and turns the request into a
/// <see cref="GenerationRequest"/> that fits the context, or into errors keyed by JSON field name.
/// </summary>
public sealed class CompletionRequestValidator(LanguageModel model, IOptions<ServingOptions> serving)
{
    /// <summary>Characters per allowed prompt token above which a prompt is refused without tokenizing it.</summary>
    public const int MaxCharactersPerToken = 32;

    public bool TryValidate(CompletionRequest request, [NotNullWhen(true)] out GenerationRequest? valid, out Dictionary<string, string[]> errors)
    {
        var limits = serving.Value;
        int context = model.Model.Config.ContextLength;
        errors = [];
        valid = null;
        if (string.IsNullOrEmpty(request.Prompt))
        {
            errors["prompt"] = ["prompt is required and must not be empty"];
            return false;
        }
        // Refused by length before tokenizing: tokenizing costs time in proportion to the text, and a prompt this long
        // cannot fit the token limit whatever its tokens (no vocabulary here has pieces of MaxCharactersPerToken chars).
        long characterLimit = (long)limits.MaxPromptTokens * MaxCharactersPerToken;
        if (request.Prompt.Length > characterLimit)
        {
            errors["prompt"] = [$"prompt is {request.Prompt.Length} characters; this service accepts at most {characterLimit} " +
                                $"({MaxCharactersPerToken} per token of {ServingOptions.Section}:MaxPromptTokens)"];
            return false;
        }
        var prompt = model.Encode(request.Prompt);
        if (prompt.Count > limits.MaxPromptTokens)
            errors["prompt"] = [$"prompt is {prompt.Count} tokens; this service accepts at most {limits.MaxPromptTokens} ({ServingOptions.Section}:MaxPromptTokens)"];
        else if (prompt.Count >= context)
            errors["prompt"] = [$"prompt is {prompt.Count} tokens; the model's context of {context} tokens leaves no room for a new one"];
        CheckMaxNewTokens(request.MaxTokens, "max_tokens", limits, errors);
        if (request.MaxTokens is { } asked && prompt.Count + asked > context && errors.Count == 0)
            errors["max_tokens"] = [$"prompt ({prompt.Count} tokens) + max_tokens ({asked}) exceeds the model's context of {context} tokens"];
        if (errors.Count > 0) return false;

        var sampling = request.ToSampling(model.Generation, request.MaxTokens ?? Math.Min(limits.DefaultMaxTokens, context - prompt.Count));
        valid = new GenerationRequest(prompt, sampling);
        return true;
    }

    /// <summary>An error under <paramref name="field"/> when <paramref name="asked"/> is past MaxNewTokens: every generating route's bound.</summary>
    public static void CheckMaxNewTokens(int? asked, string field, ServingOptions limits, Dictionary<string, string[]> errors)
    {
        if (asked > limits.MaxNewTokens)
            errors[field] = [$"{field} is {asked}; this service generates at most {limits.MaxNewTokens} ({ServingOptions.Section}:MaxNewTokens)"];
    }
}
