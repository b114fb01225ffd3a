using Microsoft.Extensions.Diagnostics.HealthChecks;
using StackExchange.Redis;

namespace Gmsa.Api.Hosting;

/// <summary>
/// The cache's Redis level: its connection, and a readiness entry that says when it is gone. Redis is a second level,
/// never required: while it is unreachable a lookup must fail at once and the request go on with the in-process level
/// and the encoder. With the client's defaults every miss waited for a connection first (5 s in its backlog, 76 s once
/// measured with Redis down), so one Redis outage made every new context that slow.
/// </summary>
public sealed class RedisLevel(string connection) : IHealthCheck
{
    readonly Lazy<Task<IConnectionMultiplexer>> multiplexer = new(async () => await ConnectionMultiplexer.ConnectAsync(Options(connection)));

    /// <summary>The one connection the cache uses (RedisCacheOptions.ConnectionMultiplexerFactory), made on first use.</summary>
    public Task<IConnectionMultiplexer> ConnectAsync() => multiplexer.Value;

    public static ConfigurationOptions Options(string connection)
    {
        var options = ConfigurationOptions.Parse(connection);
        options.AbortOnConnectFail = false;                 // connect in the background and keep retrying; start-up does not wait
        options.BacklogPolicy = BacklogPolicy.FailFast;     // no connection: a command fails now instead of queueing
        if (!connection.Contains("connectTimeout", StringComparison.OrdinalIgnoreCase)) options.ConnectTimeout = 2000;
        if (!connection.Contains("asyncTimeout", StringComparison.OrdinalIgnoreCase)) options.AsyncTimeout = 2000;
        return options;
    }

    /// <summary>Degraded, not unhealthy, without Redis: the instance still answers (readiness stays 200), from its own cache.</summary>
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        (await ConnectAsync()).IsConnected
            ? HealthCheckResult.Healthy("Redis connected")
            : HealthCheckResult.Degraded("Redis is unreachable: compressed contexts are cached in this process only until it is back");
}
