using Gmsa.Api.Options;
using Microsoft.Extensions.Options;

namespace Gmsa.Api.Hosting;

/// <summary>Set when the host begins to stop (SIGTERM): the API then refuses new requests with 503 and readiness fails.</summary>
public sealed class Draining
{
    volatile bool active;
    public bool Active => active;
    public void Start() => active = true;
}

/// <summary>
/// On SIGTERM, keeps the listener open for <see cref="AccessOptions.DrainSeconds"/> before Kestrel stops accepting: new
/// requests get a 503 that says to go elsewhere and /health/ready fails, so a load balancer takes the instance out of
/// rotation while it still answers, instead of clients meeting refused connections. Requests in flight finish after.
/// </summary>
public sealed class DrainOnShutdown(Draining draining, IOptions<AccessOptions> options, IHostApplicationLifetime lifetime,
    ILogger<DrainOnShutdown> logger) : IHostedLifecycleService
{
    /// <summary>Runs before any hosted service stops, Kestrel's included (IHostedLifecycleService's order).</summary>
    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        draining.Start();
        int seconds = options.Value.DrainSeconds;
        // A start that failed (a model that would not load) has no traffic to drain: it exits at once.
        if (seconds <= 0 || !lifetime.ApplicationStarted.IsCancellationRequested) return;
        logger.LogInformation("Stopping: new requests get 503 for {Seconds} s ({Section}:DrainSeconds), then the listener closes", seconds, AccessOptions.Section);
        try { await Task.Delay(TimeSpan.FromSeconds(seconds), cancellationToken); }
        catch (OperationCanceledException) { }   // the shutdown timeout ran out: stop now
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
