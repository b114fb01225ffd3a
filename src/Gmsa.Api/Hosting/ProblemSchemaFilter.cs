using Microsoft.AspNetCore.Mvc;
using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace Gmsa.Api.Hosting;

/// <summary>
/// The error bodies' schemas as the service writes them (<see cref="AnyAcceptProblemDetailsWriter"/>): RFC 9457's fields
/// with status and title always set, plus <c>trace_id</c> and OpenAI's <c>error</c> object, which OpenAI's clients read
/// (<see cref="OpenAiError"/>); a validation problem adds <c>errors</c>, keyed by JSON field. The generator saw only the
/// ProblemDetails class, whose extensions are an untyped bag.
/// </summary>
public sealed class ProblemSchemaFilter : ISchemaFilter
{
    public void Apply(IOpenApiSchema schema, SchemaFilterContext context)
    {
        if (schema is not OpenApiSchema s) return;
        if (context.Type == typeof(OpenAiError))
        {
            s.Description = "OpenAI's error object: message (the first field error, else the detail), type (invalid_request_error, " +
                "authentication_error, not_found_error, rate_limit_error, server_error; timeout_error in a stream's last event), " +
                "param (the field at fault, when one is), code (the HTTP status, as a string).";
            Require(s, "message", "type", "code");
            return;
        }
        if (!typeof(ProblemDetails).IsAssignableFrom(context.Type)) return;
        s.Properties ??= new Dictionary<string, IOpenApiSchema>();
        // the naming policy's spelling of ASP.NET's traceId, as the writer adds it
        s.Properties["trace_id"] = new OpenApiSchema
        {
            Type = JsonSchemaType.String,
            Description = "The request's trace (W3C traceparent form while tracing, else the connection's request id), as logged.",
        };
        s.Properties["error"] = context.SchemaGenerator.GenerateSchema(typeof(OpenAiError), context.SchemaRepository);
        Require(s, "status", "title", "trace_id", "error");
    }

    /// <summary>Lists <paramref name="fields"/> as required, and as never null where the generator thought they could be.</summary>
    static void Require(OpenApiSchema s, params string[] fields)
    {
        s.Required = new HashSet<string>(s.Required ?? new HashSet<string>());
        foreach (var field in fields)
        {
            s.Required.Add(field);
            if (s.Properties?.TryGetValue(field, out var property) == true && property is OpenApiSchema p && p.Type is { } type)
                p.Type = type & ~JsonSchemaType.Null;
        }
    }
}
