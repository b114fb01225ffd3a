using Microsoft.AspNetCore.Mvc;

namespace Gmsa.Api.Hosting;

/// <summary>
/// The <c>error</c> object OpenAI's clients read (<c>message</c>, <c>type</c>, <c>param</c>, <c>code</c>), carried by every
/// problem-details body, so the same 4xx reads as RFC 9457 to some clients and as an OpenAI error to the others.
/// </summary>
public sealed record OpenAiError(string Message, string Type, string? Param, string? Code)
{
    public static OpenAiError From(ProblemDetails problem)
    {
        var first = problem is HttpValidationProblemDetails v ? v.Errors.FirstOrDefault() : default;
        string message = first.Value is { Length: > 0 } messages ? messages[0] : problem.Detail ?? problem.Title ?? "error";
        string type = problem.Status switch
        {
            StatusCodes.Status401Unauthorized => "authentication_error",
            StatusCodes.Status404NotFound => "not_found_error",
            StatusCodes.Status429TooManyRequests => "rate_limit_error",
            >= 500 => "server_error",
            _ => "invalid_request_error",
        };
        return new OpenAiError(message, type, first.Key, problem.Status?.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }
}
