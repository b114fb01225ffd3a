using System.Diagnostics;

namespace Gmsa.Engine.Serving;

/// <summary>
/// Spans of the engine's serving work, children of the request that caused them (the caller's Activity when it
/// enqueued): gmsa.queue (admission to prefill), gmsa.prefill (to the first token), gmsa.decode (to the last), and
/// gmsa.compress per encoder call, linked to every request it served. Subscribe to <see cref="SourceName"/>.
/// </summary>
public static class ServingTelemetry
{
    public const string SourceName = "Gmsa.Engine";
    public static readonly ActivitySource Source = new(SourceName);

    /// <summary>Starts a span under <paramref name="parent"/> at <paramref name="start"/> without making it the thread's current one.</summary>
    internal static Activity? Begin(string name, ActivityContext parent, DateTimeOffset start, IEnumerable<ActivityLink>? links = null)
    {
        if (!Source.HasListeners()) return null;
        var previous = Activity.Current;
        var activity = Source.StartActivity(name, ActivityKind.Internal, parent, links: links, startTime: start);
        Activity.Current = previous;    // spans outlive this call; the model thread must not inherit them
        return activity;
    }

    /// <summary>When a Stopwatch timestamp happened, in wall-clock time.</summary>
    internal static DateTimeOffset WallClock(long timestamp) => DateTimeOffset.UtcNow - Stopwatch.GetElapsedTime(timestamp);

    internal static void End(this Activity? activity)
    {
        if (activity is null) return;
        var previous = Activity.Current;
        activity.Stop();
        Activity.Current = previous;
    }
}
