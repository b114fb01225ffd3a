using Microsoft.AspNetCore.Diagnostics.HealthChecks;

namespace Gmsa.Api.Endpoints;

/// <summary>/health: ready (the model is loaded), 503 otherwise; /alive: the process answers.</summary>
public static class HealthEndpoints
{
    public static IEndpointRouteBuilder MapHealthEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapHealthChecks("/health");
        app.MapHealthChecks("/alive", new HealthCheckOptions { Predicate = check => check.Tags.Contains("live") });
        return app;
    }
}
