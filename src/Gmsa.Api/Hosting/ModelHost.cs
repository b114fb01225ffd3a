using System.Diagnostics;
using Gmsa.Api.Contracts;
using Gmsa.Api.Telemetry;
using Gmsa.Engine.Generation;
using Gmsa.Engine.Serving;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Gmsa.Api.Hosting;

/// <summary>
/// Loads the model while the host starts (before Kestrel listens), so a broken model folder stops
/// start-up instead of failing the first request, and answers the readiness check afterwards.
/// </summary>
public sealed class ModelHost(IServiceProvider services, ILogger<ModelHost> logger) : IHostedService, IHealthCheck
{
    volatile ModelInfo? ready;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var model = services.GetRequiredService<LanguageModel>();
        services.GetRequiredService<GenerationScheduler>();
        services.GetRequiredService<CompressionHost>();   // the compression batcher, when the model has a compressor
        services.GetRequiredService<CompressionMetrics>(); // subscribes to its encoder calls
        services.GetRequiredService<CompletionMetrics>(); // subscribes to the scheduler's batches
        var info = services.GetRequiredService<ModelInfo>();
        Warm(model, services.GetRequiredService<CompressionHost>());
        logger.LogInformation("Model {Model} loaded from {Path} in {Elapsed:F0} ms: {Family}, {Parameters:N0} parameters, {Dtype} on {Device}, context {Context}, {Tokenizer}",
            info.Id, model.Directory, clock.Elapsed.TotalMilliseconds, info.Family, info.Parameters, info.Dtype, info.Device, info.ContextLength, info.Tokenizer);
        ready = info;
        return Task.CompletedTask;
    }

    /// <summary>
    /// One token of generation and one small compression before readiness: the first calls pay for JIT, libtorch's
    /// lazy initialisation and the decode kernel's thread team, and should not land on a user's request.
    /// </summary>
    static void Warm(LanguageModel model, CompressionHost compression)
    {
        model.CompleteAsync([model.Encode("Hello")], new SamplingOptions { MaxNewTokens = 2 }).GetAwaiter().GetResult();
        if (compression.Service is { } c)
            c.Gmsa.CompressToDataAsync([c.Gmsa.EncodeContext("Hello, world.")], [c.DefaultRate]).GetAwaiter().GetResult();
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        ready = null;
        return Task.CompletedTask;
    }

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(services.GetRequiredService<Draining>().Active ? HealthCheckResult.Unhealthy("the service is stopping")
            : ready is { } info ? HealthCheckResult.Healthy($"model {info.Id} loaded")
            : HealthCheckResult.Unhealthy("the model is not loaded"));
}
