using System.Globalization;
using Gmsa.Api.Options;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace Gmsa.Api.Hosting;

/// <summary>
/// The statuses a /v1 route answers before or around its handler, which the handlers' own declarations cannot show: 401
/// (with API keys set), 429 (admission, and the rate limit when set), 500 (a failure inside), 503 (draining), 504
/// (deadlines, on the routes that wait for the model), and on routes that read a body 413 and 415. Each as this service's settings make it, with the
/// problem body they carry and the headers that come with it.
/// </summary>
public sealed class ErrorResponsesFilter(IOptions<AccessOptions> access, IOptions<ServingOptions> serving) : IOperationFilter
{
    const string ProblemJson = "application/problem+json";

    public void Apply(OpenApiOperation operation, OperationFilterContext context)
    {
        if (context.ApiDescription.RelativePath?.TrimStart('/').StartsWith("v1/", StringComparison.Ordinal) != true) return;
        var a = access.Value;
        var responses = operation.Responses ??= new OpenApiResponses();
        bool readsBody = operation.RequestBody is not null;
        if (a.ApiKeys.Length > 0)
            responses["401"] = Problem(context, "No API key, or an unknown one: every /v1 route wants 'Authorization: Bearer <key>' " +
                $"({AccessOptions.Section}:ApiKeys is set).", ("WWW-Authenticate", "Always Bearer.", JsonSchemaType.String));
        if (readsBody)
        {
            responses["413"] = Problem(context, $"The body is over {serving.Value.MaxRequestBodyBytes.ToString(CultureInfo.InvariantCulture)} bytes " +
                $"({ServingOptions.Section}:MaxRequestBodyBytes).");
            responses["415"] = Problem(context, "The body was not sent as Content-Type: application/json (curl's -d without a header sends a form); " +
                "the detail says what was sent.");
        }
        bool admits = responses.ContainsKey("429");   // declared by routes that take a slot of the scheduler or the compression queue
        if (admits || a.RequestsPerMinute > 0)
            responses["429"] = Problem(context, string.Join(" ", new[]
                {
                    admits ? "Every admission slot is taken." : null,
                    a.RequestsPerMinute > 0 ? $"Over {a.RequestsPerMinute} requests a minute for this API key (this client address without keys; " +
                                              $"{AccessOptions.Section}:RequestsPerMinute)." : null,
                }.OfType<string>()),
                ("Retry-After", "Seconds to wait before trying again.", JsonSchemaType.Integer));
        responses["500"] = Problem(context, "Something failed inside the service (a model forward, a bug). The body carries OpenAI's error object " +
            "(type server_error) and the trace_id to find it in the logs. Requests that shared the failed forward fail with it; the service goes on.");
        responses["503"] = Problem(context, $"This instance is shutting down ({AccessOptions.Section}:DrainSeconds after SIGTERM): requests in flight " +
            "finish, new ones should go to another instance. Sent with Connection: close.");
        if (readsBody && a.RequestTimeoutSeconds > 0)
            responses["504"] = Problem(context, $"The request waited and ran past {a.RequestTimeoutSeconds} s ({AccessOptions.Section}:RequestTimeoutSeconds) " +
                "and was stopped, its slot freed. A stream, whose 200 has gone out, ends instead with the event " +
                "{\"error\": {\"type\": \"timeout_error\", \"code\": \"504\", ...}} and then [DONE].");
    }

    static OpenApiResponse Problem(OperationFilterContext context, string description, params (string Name, string Description, JsonSchemaType Type)[] headers) => new()
    {
        Description = description,
        Content = new Dictionary<string, IOpenApiMediaType>
        {
            [ProblemJson] = new OpenApiMediaType { Schema = context.SchemaGenerator.GenerateSchema(typeof(ProblemDetails), context.SchemaRepository) },
        },
        Headers = headers.Length == 0 ? null : headers.ToDictionary(h => h.Name, h => (IOpenApiHeader)new OpenApiHeader
        {
            Description = h.Description,
            Schema = new OpenApiSchema { Type = h.Type },
        }),
    };
}
