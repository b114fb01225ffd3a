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
        samples.Sort();
        return samples[samples.Count / 2];
    }
}
