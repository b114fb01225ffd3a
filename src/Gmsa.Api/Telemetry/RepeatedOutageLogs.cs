using System.Collections.Concurrent;
using Serilog.Core;
using Serilog.Events;

namespace Gmsa.Api.Telemetry;

/// <summary>
/// While Redis is down, HybridCache logs every failed read and write with its stack trace (two errors a request) and the
/// health service a warning on every probe: together they bury everything else. For those sources this keeps the first
/// warning or error of each kind and then at most one a <see cref="Window"/>; /health/ready says Degraded meanwhile, so
/// the outage stays visible.
/// </summary>
public sealed class RepeatedOutageLogs(TimeProvider clock) : ILogEventFilter
{
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(1);
    static readonly string[] Sources = ["Microsoft.Extensions.Caching", "Microsoft.Extensions.Diagnostics.HealthChecks"];
    readonly ConcurrentDictionary<string, DateTimeOffset> lastWritten = new();

    public bool IsEnabled(LogEvent logEvent)
    {
        if (logEvent.Level < LogEventLevel.Warning) return true;
        if (!logEvent.Properties.TryGetValue(Constants.SourceContextPropertyName, out var source) ||
            source is not ScalarValue { Value: string name } || !Sources.Any(s => name.StartsWith(s, StringComparison.Ordinal))) return true;
        string key = name + "\n" + logEvent.MessageTemplate.Text;
        var now = clock.GetUtcNow();
        while (true)
        {
            if (!lastWritten.TryGetValue(key, out var last)) { if (lastWritten.TryAdd(key, now)) return true; continue; }
            if (now - last < Window) return false;
            if (lastWritten.TryUpdate(key, now, last)) return true;
        }
    }
}
