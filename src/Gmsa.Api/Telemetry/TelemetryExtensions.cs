using Gmsa.Api.Options;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Serilog;
using Serilog.Events;

namespace Gmsa.Api.Telemetry;

public static class TelemetryExtensions
{
    /// <summary>
    /// Serilog to the console (and to OTLP), OpenTelemetry metrics (ours, ASP.NET Core's, the runtime's)
    /// for Prometheus, and traces. OTLP export is switched on only by OTEL_EXPORTER_OTLP_ENDPOINT, so an
    /// offline run never tries to reach a collector.
    /// </summary>
    public static WebApplicationBuilder AddGmsaTelemetry(this WebApplicationBuilder builder)
    {
        bool otlp = !string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        // Read leniently here, because the logger must exist to report anything; bound strictly at start-up, so a value
        // that is not true or false stops the service with one line (written as text).
        bool json = bool.TryParse(builder.Configuration[$"{LoggingOptions.Section}:Json"], out var j) && j;
        builder.Services.AddOptions<LoggingOptions>().BindConfiguration(LoggingOptions.Section).ValidateOnStart();
        builder.Services.AddSerilog((services, logger) =>
        {
            logger.ReadFrom.Configuration(builder.Configuration)
                .ReadFrom.Services(services)
                .Enrich.FromLogContext()
                .Filter.With(new RepeatedOutageLogs(TimeProvider.System));   // a Redis outage: one error a minute, not two a request
            // Production: one JSON object a line (compact format: @t, @l, @mt, @tr trace id, @sp span id). Otherwise
            // text, with the trace id at the end of every line written inside a request.
            if (json)
                logger.WriteTo.Console(new Serilog.Formatting.Compact.RenderedCompactJsonFormatter());
            else
                logger.WriteTo.Console(outputTemplate: "[{Timestamp:HH:mm:ss} {Level:u3}] {Message:lj} {TraceId}{NewLine}{Exception}",
                    formatProvider: System.Globalization.CultureInfo.InvariantCulture);
            if (otlp)
                logger.WriteTo.OpenTelemetry(o => o.ResourceAttributes["service.name"] = GmsaTelemetry.ServiceName);
        });

        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(GmsaTelemetry.ServiceName))
            .WithMetrics(metrics => metrics
                .AddMeter(GmsaTelemetry.MeterName)
                .AddAspNetCoreInstrumentation()
                .AddRuntimeInstrumentation()
                .AddPrometheusExporter(o => o.ScrapeResponseCacheDurationMilliseconds = 0))
            .WithTracing(tracing => tracing
                .AddSource(GmsaTelemetry.ActivitySourceName)
                .AddSource(Gmsa.Engine.Serving.ServingTelemetry.SourceName)   // queue, compress, prefill, decode
                .AddAspNetCoreInstrumentation(o => o.Filter = context => !IsProbe(context.Request.Path)));
        if (otlp) telemetry.UseOtlpExporter();
        builder.Services.AddSingleton<CompletionMetrics>();
        builder.Services.AddSingleton<CompressionMetrics>();
        return builder;
    }

    /// <summary>One log line per request; a client that hung up is not an error.</summary>
    public static WebApplication UseGmsaRequestLogging(this WebApplication app)
    {
        app.UseSerilogRequestLogging(o => o.GetLevel = (context, _, error) =>
            error is OperationCanceledException && context.RequestAborted.IsCancellationRequested ? LogEventLevel.Information
            : error is null && context.Response.StatusCode == StatusCodes.Status504GatewayTimeout ? LogEventLevel.Warning   // a deadline, not a fault
            : error is not null || context.Response.StatusCode >= 500 ? LogEventLevel.Error
            : LogEventLevel.Information);
        return app;
    }

    /// <summary>Health probes and scrapes every few seconds would drown the traces that matter.</summary>
    static bool IsProbe(PathString path) =>
        path.StartsWithSegments("/health") || path.StartsWithSegments("/alive") || path.StartsWithSegments("/metrics");
}
