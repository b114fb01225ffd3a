using System.Diagnostics.CodeAnalysis;
using Gmsa.Api.Options;
using Gmsa.Engine.Generation;
using Gmsa.Engine.Serving;
using Microsoft.Extensions.Options;

namespace Gmsa.Api.Contracts;

/// <summary>
/// The checks that need the model or the service's limits (field ranges are DataAnnotations on
/// <see cref="CompletionRequest"/>): tokenizes each prompt and turns the request into
/// <see cref="GenerationRequest"/>s that fit the context, or into errors keyed by JSON field name.
/// </summary>
public sealed class CompletionRequestValidator(LanguageModel model, IOptions<ServingOptions> serving)
{
    /// <summary>Characters per allowed prompt token above which a prompt is refused without tokenizing it.</summary>
    public const int MaxCharactersPerToken = 32;

    /// <returns>one generation request per prompt, in order (a string prompt is one)</returns>
    public bool TryValidate(CompletionRequest request, [NotNullWhen(true)] out IReadOnlyList<GenerationRequest>? valid, out Dictionary<string, string[]> errors)
    {
        var limits = serving.Value;
        int context = model.Model.Config.ContextLength;
        errors = [];
        valid = null;
        var texts = request.Prompt?.Texts ?? [];
        string Name(int i) => request.Prompt is { IsString: true } ? "prompt" : $"prompt {i}";
        if (texts.Count == 0)
        {
            errors["prompt"] = ["prompt is required and must not be empty"];
            return false;
        }
        // Refused by length before tokenizing any: tokenizing costs time in proportion to the text, and a prompt this long
        // cannot fit the token limit whatever its tokens (no vocabulary here has pieces of MaxCharactersPerToken chars).
        long characterLimit = (long)limits.MaxPromptTokens * MaxCharactersPerToken;
        for (int i = 0; i < texts.Count; i++)
        {
            if (string.IsNullOrEmpty(texts[i]))
                errors["prompt"] = [request.Prompt!.IsString ? "prompt is required and must not be empty" : $"{Name(i)} is empty"];
            else if (texts[i]!.Length > characterLimit)
                errors["prompt"] = [$"{Name(i)} is {texts[i]!.Length} characters; this service accepts at most {characterLimit} " +
                                    $"({MaxCharactersPerToken} per token of {ServingOptions.Section}:MaxPromptTokens)"];
            if (errors.Count > 0) return false;
        }
        CheckMaxNewTokens(request.MaxTokens, "max_tokens", limits, errors);
        var requests = new List<GenerationRequest>(texts.Count);
        for (int i = 0; i < texts.Count && !errors.ContainsKey("prompt"); i++)
        {
            var prompt = model.Encode(texts[i]!);
            if (prompt.Count > limits.MaxPromptTokens)
                errors["prompt"] = [$"{Name(i)} is {prompt.Count} tokens; this service accepts at most {limits.MaxPromptTokens} ({ServingOptions.Section}:MaxPromptTokens)"];
            else if (prompt.Count >= context)
                errors["prompt"] = [$"{Name(i)} is {prompt.Count} tokens; the model's context of {context} tokens leaves no room for a new one"];
            else if (request.MaxTokens is { } asked && prompt.Count + asked > context && !errors.ContainsKey("max_tokens"))
                errors["max_tokens"] = [$"{Name(i)} ({prompt.Count} tokens) + max_tokens ({asked}) exceeds the model's context of {context} tokens"];
            else
                requests.Add(new GenerationRequest(prompt,
                    request.ToSampling(model.Generation, request.MaxTokens ?? Math.Min(limits.DefaultMaxTokens, context - prompt.Count))));
        }
        if (errors.Count > 0) return false;
        valid = requests;
        return true;
    }

    /// <summary>An error under <paramref name="field"/> when <paramref name="asked"/> is past MaxNewTokens: every generating route's bound.</summary>
    public static void CheckMaxNewTokens(int? asked, string field, ServingOptions limits, Dictionary<string, string[]> errors)
    {
        if (asked > limits.MaxNewTokens)
            errors[field] = [$"{field} is {asked}; this service generates at most {limits.MaxNewTokens} ({ServingOptions.Section}:MaxNewTokens)"];
    }
}
