using Microsoft.Extensions.Options;

namespace Gmsa.Api.Options;

/// <summary>Rules between <see cref="CompressionOptions"/> fields, which DataAnnotations on single fields cannot state.</summary>
public sealed class CompressionOptionsValidator : IValidateOptions<CompressionOptions>
{
    const string S = CompressionOptions.Section;

    public ValidateOptionsResult Validate(string? name, CompressionOptions options) =>
        options.MaxCachedBytes > options.CacheBytes
            ? ValidateOptionsResult.Fail($"{S}:MaxCachedBytes ({options.MaxCachedBytes}) exceeds {S}:CacheBytes ({options.CacheBytes}): such a payload could never be cached; " +
                                         $"lower the one or raise the other ({Settings.Where($"{S}:MaxCachedBytes")})")
            : ValidateOptionsResult.Success;
}
