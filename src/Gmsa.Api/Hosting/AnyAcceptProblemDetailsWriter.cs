using System.Diagnostics;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;

namespace Gmsa.Api.Hosting;

/// <summary>
/// Writes problem details whatever the request's Accept header says, after ASP.NET's own writer. That one declines when
/// Accept names neither JSON nor */* (a client asking for npy or safetensors, or an SSE client's text/event-stream), and
/// then a result wrote a bare body (no trace_id, no OpenAI <c>error</c>, at times as application/json) and an unhandled
/// exception's 500 had no body at all. An error body cannot be npy anyway; clients read it by its status.
/// </summary>
public sealed class AnyAcceptProblemDetailsWriter(IOptions<ProblemDetailsOptions> options, IOptions<JsonOptions> json) : IProblemDetailsWriter
{
    public bool CanWrite(ProblemDetailsContext context) => true;

    public ValueTask WriteAsync(ProblemDetailsContext context)
    {
        var http = context.HttpContext;
        var problem = context.ProblemDetails;
        problem.Status ??= http.Response.StatusCode;
        // ASP.NET's writer adds traceId, written in the naming policy's case (trace_id): the same field here
        var serializer = json.Value.SerializerOptions;
        problem.Extensions.TryAdd(serializer.PropertyNamingPolicy?.ConvertName("traceId") ?? "traceId", Activity.Current?.Id ?? http.TraceIdentifier);
        options.Value.CustomizeProblemDetails?.Invoke(context);
        return new ValueTask(http.Response.WriteAsJsonAsync(problem, problem.GetType(), serializer, "application/problem+json", http.RequestAborted));
    }
}
