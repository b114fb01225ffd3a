using System.Globalization;
using Gmsa.Api.Options;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Gmsa.Api.Hosting;

/// <summary>
/// The one 429 every full queue answers: a problem body (its type and title the 429's, <see cref="ProblemTypes"/>) and
/// Retry-After from Gmsa:Serving:RetryAfterSeconds.
/// </summary>
public static class TooManyRequests
{
    public static ProblemHttpResult Problem(HttpContext context, ServingOptions serving, string detail)
    {
        context.Response.Headers.RetryAfter = serving.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
        return TypedResults.Problem(statusCode: StatusCodes.Status429TooManyRequests, detail: detail);
    }
}
