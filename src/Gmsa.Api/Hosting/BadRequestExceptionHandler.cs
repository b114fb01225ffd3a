using System.Text.Json;
using Gmsa.Api.Contracts;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace Gmsa.Api.Hosting;

/// <summary>
/// Bodies that never reached a handler (malformed JSON, a wrong type, no body or JSON null, a body past the size limit,
/// not JSON at all) as ProblemDetails with their own status; JSON errors name the field by its JSON path, a missing body "body".
/// </summary>
public sealed class BadRequestExceptionHandler(IProblemDetailsService problems) : IExceptionHandler
{
    public ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not BadHttpRequestException bad) return ValueTask.FromResult(false);
        context.Response.StatusCode = bad.StatusCode;
        ProblemDetails problem = bad.InnerException is JsonException json
            ? JsonProblem(context, json, bad.StatusCode)
            : IsMissingBody(context, bad)
            ? new HttpValidationProblemDetails(new Dictionary<string, string[]>
            {
                ["body"] = [$"the request needs a JSON object body ({RequestKind(context)}); it was empty or null"],
            })
            {
                Detail = "the request needs a JSON object body",
                Status = bad.StatusCode,
            }
            : new ProblemDetails { Detail = $"the request could not be read: {bad.Message}", Status = bad.StatusCode };
        return problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = problem, Exception = exception });
    }

    /// <summary>
    /// Malformed JSON, or well-formed JSON with a value of the wrong type for its field (System.Text.Json wraps its reader's
    /// syntax errors, themselves JsonExceptions, in the one it throws). A wrong type is answered with what the field takes.
    /// </summary>
    static HttpValidationProblemDetails JsonProblem(HttpContext context, JsonException json, int status)
    {
        string at = $"at {json.Path ?? "$"}, line {json.LineNumber + 1}, byte {json.BytePositionInLine}";
        bool wrongType = json.InnerException is not JsonException;   // the reader's syntax errors come wrapped; a token of the wrong kind comes as InvalidOperationException or FormatException
        string? expected = wrongType && BodyType(context) is { } body
            ? JsonFieldTypes.Describe(context.RequestServices.GetRequiredService<IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions>>().Value.SerializerOptions, body, json.Path)
            : null;
        string field = FieldName(json.Path);
        // "\ud800" alone is valid JSON but no text: System.Text.Json refuses it while reading a string, as a wrong token
        bool loneSurrogate = json.InnerException is InvalidOperationException { Message: var m } && m.Contains("surrogate", StringComparison.OrdinalIgnoreCase);
        return new HttpValidationProblemDetails(new Dictionary<string, string[]>
        {
            [field] = [loneSurrogate ? $"{field} is not valid Unicode text: it holds a lone UTF-16 surrogate escape (such as \\ud800 without its pair) ({at})"
                       : expected is null ? $"not valid JSON for this field ({at})" : $"{field} must be {expected} ({at})"],
        })
        {
            Detail = expected is null ? $"the request body is not valid JSON for {RequestKind(context)}" : $"the request body has a field of the wrong type for {RequestKind(context)}",
            Status = status,
        };
    }

    /// <summary>Each route's body type, named as the handlers' own details name it ("the chat request is not valid").</summary>
    static readonly Dictionary<Type, string> Kinds = new()
    {
        [typeof(CompletionRequest)] = "a completion request",
        [typeof(ChatRequest)] = "a chat request",
        [typeof(CompressRequest)] = "a compression request",
        [typeof(AnswerRequest)] = "an answer request",
        [typeof(ReconstructRequest)] = "a reconstruction request",
    };

    /// <summary>What the route that threw reads its body as (the exception handler has cleared the request's endpoint; its feature keeps it).</summary>
    static string RequestKind(HttpContext context) => BodyType(context) is { } type && Kinds.TryGetValue(type, out var kind) ? kind : "this route";

    static Type? BodyType(HttpContext context) =>
        (context.Features.Get<IExceptionHandlerFeature>()?.Endpoint ?? context.GetEndpoint())?.Metadata.GetMetadata<IAcceptsMetadata>()?.RequestType;

    /// <summary>
    /// An empty body or a literal null on a route that reads a JSON body: ASP.NET throws a 400 with no inner exception and a
    /// message for the handler's author ("Implicit body inferred for parameter ... Did you mean to use a Service instead?").
    /// These routes bind nothing else from the request, so no other 400 without an inner exception comes from them.
    /// </summary>
    static bool IsMissingBody(HttpContext context, BadHttpRequestException bad) =>
        bad.StatusCode == StatusCodes.Status400BadRequest && bad.InnerException is null && BodyType(context) is not null;

    /// <summary>"$.max_tokens" → "max_tokens"; the whole document ("$") → "body".</summary>
    static string FieldName(string? path) =>
        path is null || path == "$" ? "body" : path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : path;
}
