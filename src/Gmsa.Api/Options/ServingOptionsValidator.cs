using Microsoft.Extensions.Options;

namespace Gmsa.Api.Options;

/// <summary>Rules between <see cref="ServingOptions"/> fields, which DataAnnotations on single fields cannot state.</summary>
public sealed class ServingOptionsValidator : IValidateOptions<ServingOptions>
{
    public ValidateOptionsResult Validate(string? name, ServingOptions options)
    {
        var builder = new ValidateOptionsResultBuilder();
        if (options.DefaultMaxTokens > options.MaxNewTokens)
            builder.AddError($"DefaultMaxTokens ({options.DefaultMaxTokens}) exceeds MaxNewTokens ({options.MaxNewTokens})", ServingOptions.Section);
        if (options.MaxBatchSize > options.MaxQueuedRequests)
            builder.AddError($"MaxBatchSize ({options.MaxBatchSize}) exceeds MaxQueuedRequests ({options.MaxQueuedRequests}): a batch could never fill", ServingOptions.Section);
        return builder.Build();
    }
}
