using Microsoft.Extensions.Options;

namespace Gmsa.Api.Options;

/// <summary>Rules between <see cref="ServingOptions"/> fields, which DataAnnotations on single fields cannot state.</summary>
public sealed class ServingOptionsValidator : IValidateOptions<ServingOptions>
{
    public ValidateOptionsResult Validate(string? name, ServingOptions options)
    {
        var builder = new ValidateOptionsResultBuilder();
        // AddError's property name would read "Property Gmsa:Serving: DefaultMaxTokens": the paths are written out instead
        const string S = ServingOptions.Section;
        if (options.DefaultMaxTokens > options.MaxNewTokens)
            builder.AddError($"{S}:DefaultMaxTokens ({options.DefaultMaxTokens}) exceeds {S}:MaxNewTokens ({options.MaxNewTokens}): " +
                             $"lower the one or raise the other ({Settings.Where($"{S}:DefaultMaxTokens")})");
        if (options.MaxBatchSize > options.MaxQueuedRequests)
            builder.AddError($"{S}:MaxBatchSize ({options.MaxBatchSize}) exceeds {S}:MaxQueuedRequests ({options.MaxQueuedRequests}): a batch could never fill; " +
                             $"lower the one or raise the other ({Settings.Where($"{S}:MaxBatchSize")})");
        return builder.Build();
    }
}
