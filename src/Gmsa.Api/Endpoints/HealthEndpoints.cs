using Microsoft.AspNetCore.Diagnostics.HealthChecks;

namespace Gmsa.Api.Endpoints;

/// <summary>
/// /health/ready: 200 once the model (and its compressor) are loaded and warmed, 503 before and while stopping;
/// /health/live: 200 while the process answers. /health and /alive stay as the older names of the two.
/// </summary>
public static class HealthEndpoints
{
    public static IEndpointRouteBuilder MapHealthEndpoints(this IEndpointRouteBuilder app)
    {
        var live = new HealthCheckOptions { Predicate = check => check.Tags.Contains("live") };
        app.MapHealthChecks("/health/ready");
        app.MapHealthChecks("/health/live", live);
        app.MapHealthChecks("/health");
        app.MapHealthChecks("/alive", live);
        return app;
    }
}
