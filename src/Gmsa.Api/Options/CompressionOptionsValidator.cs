using Microsoft.Extensions.Options;

namespace Gmsa.Api.Options;

/// <summary>Rules between <see cref="CompressionOptions"/> fields, which DataAnnotations on single fields cannot state.</summary>
public sealed class CompressionOptionsValidator : IValidateOptions<CompressionOptions>
{
    public ValidateOptionsResult Validate(string? name, CompressionOptions options) =>
        options.MaxCachedBytes > options.CacheBytes
            ? ValidateOptionsResult.Fail($"{CompressionOptions.Section}: MaxCachedBytes ({options.MaxCachedBytes}) exceeds CacheBytes ({options.CacheBytes}): such a payload could never be cached")
            : ValidateOptionsResult.Success;
}
