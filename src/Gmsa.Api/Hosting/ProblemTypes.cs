using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.WebUtilities;

namespace Gmsa.Api.Hosting;

/// <summary>
/// One <c>type</c> and one <c>title</c> per status, on every route and from every source (handlers, the access middleware,
/// the body reader, ASP.NET's own validation and status pages): RFC 9457 has the title summarise the problem type, the
/// same for each occurrence, so what went wrong this time is said in <c>detail</c> and <c>errors</c>. The pairs are
/// ASP.NET's defaults (the RFC 9110 section and the reason phrase) where it has one, and otherwise the status's RFC and
/// reason phrase: 413 and 429 had no type, and a handler's own title ("Too many requests in progress", "Rate limit
/// reached") made the same 429 read differently by route.
/// </summary>
public static class ProblemTypes
{
    static readonly Dictionary<int, (string Type, string Title)> Known = new()
    {
        [400] = ("https://tools.ietf.org/html/rfc9110#section-15.5.1", "Bad Request"),
        [401] = ("https://tools.ietf.org/html/rfc9110#section-15.5.2", "Unauthorized"),
        [403] = ("https://tools.ietf.org/html/rfc9110#section-15.5.4", "Forbidden"),
        [404] = ("https://tools.ietf.org/html/rfc9110#section-15.5.5", "Not Found"),
        [405] = ("https://tools.ietf.org/html/rfc9110#section-15.5.6", "Method Not Allowed"),
        [406] = ("https://tools.ietf.org/html/rfc9110#section-15.5.7", "Not Acceptable"),
        [408] = ("https://tools.ietf.org/html/rfc9110#section-15.5.9", "Request Timeout"),
        [409] = ("https://tools.ietf.org/html/rfc9110#section-15.5.10", "Conflict"),
        [412] = ("https://tools.ietf.org/html/rfc9110#section-15.5.13", "Precondition Failed"),
        [413] = ("https://tools.ietf.org/html/rfc9110#section-15.5.14", "Content Too Large"),
        [415] = ("https://tools.ietf.org/html/rfc9110#section-15.5.16", "Unsupported Media Type"),
        [422] = ("https://tools.ietf.org/html/rfc9110#section-15.5.21", "Unprocessable Entity"),
        [426] = ("https://tools.ietf.org/html/rfc9110#section-15.5.22", "Upgrade Required"),
        [429] = ("https://tools.ietf.org/html/rfc6585#section-4", "Too Many Requests"),
        [500] = ("https://tools.ietf.org/html/rfc9110#section-15.6.1", "An error occurred while processing your request."),
        [502] = ("https://tools.ietf.org/html/rfc9110#section-15.6.3", "Bad Gateway"),
        [503] = ("https://tools.ietf.org/html/rfc9110#section-15.6.4", "Service Unavailable"),
        [504] = ("https://tools.ietf.org/html/rfc9110#section-15.6.5", "Gateway Timeout"),
    };

    /// <summary>The status's type and title; a title that said more (ASP.NET's "One or more validation errors occurred.") becomes the detail when there is none.</summary>
    public static void Apply(ProblemDetails problem, int status)
    {
        var (type, title) = Known.TryGetValue(status, out var known) ? known : ("about:blank", ReasonPhrases.GetReasonPhrase(status));
        if (problem.Title is { Length: > 0 } said && said != title) problem.Detail ??= said;
        problem.Type = type;
        problem.Title = title;
    }
}
