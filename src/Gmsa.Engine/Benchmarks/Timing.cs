using System.Diagnostics;

namespace Gmsa.Engine.Benchmarks;

/// <summary>Median wall time of repeated runs after warm-up: these machines are noisy, medians less so.</summary>
public static class Timing
{
    public static TimeSpan Median(Action run, int repeats, int warmup = 1)
    {
        for (int i = 0; i < warmup; i++) run();
        var samples = new List<TimeSpan>(repeats);
        for (int i = 0; i < repeats; i++)
        {
            var clock = Stopwatch.StartNew();
            run();
            samples.Add(clock.Elapsed);
        }
        return Middle(samples);
    }

    /// <summary>
    /// Medians of two runs timed in turn (a, b, a, b, ...) after warm-up of each, so that a ratio between them compares
    /// runs of the same minutes rather than two blocks the machine's drift can fall between.
    /// </summary>
    public static (TimeSpan A, TimeSpan B) MedianPair(Action a, Action b, int repeats, int warmup = 1)
    {
        for (int i = 0; i < warmup; i++) { a(); b(); }
        var (first, second) = (new List<TimeSpan>(repeats), new List<TimeSpan>(repeats));
        for (int i = 0; i < repeats; i++)
        {
            var clock = Stopwatch.StartNew();
            a();
            first.Add(clock.Elapsed);
            clock.Restart();
            b();
            second.Add(clock.Elapsed);
        }
        return (Middle(first), Middle(second));
    }

    /// <summary>The median of measured values (for an even count, the upper of the two middle ones).</summary>
    public static T Middle<T>(IEnumerable<T> values) where T : IComparable<T>
    {
        var sorted = values.Order().ToList();
        return sorted[sorted.Count / 2];
    }
}
