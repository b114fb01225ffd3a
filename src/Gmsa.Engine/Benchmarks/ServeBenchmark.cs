using System.Diagnostics;
using Gmsa.Engine.Generation;
using Gmsa.Engine.Serving;

namespace Gmsa.Engine.Benchmarks;

/// <summary>
/// `gmsa bench serve`'s workload: <see cref="Requests"/> requests with prompt lengths and max_tokens drawn log-uniformly
/// (most short, some long, as chat traffic is), half greedy and half sampled, sent by <see cref="Clients"/> clients that
/// each send their next request as soon as the previous one is answered.
/// </summary>
public sealed record ServeBenchmarkOptions
{
    public int Clients { get; init; } = 16;
    public int Requests { get; init; } = 64;
    public int MinPromptTokens { get; init; } = 8;
    public int MaxPromptTokens { get; init; } = 256;
    public int MinNewTokens { get; init; } = 8;
    public int MaxNewTokens { get; init; } = 256;
    public double SampledShare { get; init; } = 0.5;
    public long Seed { get; init; } = 1;
}

/// <summary>
/// One policy's run: throughput and the latencies clients saw; from the scheduler's own reports, the time its model
/// thread spent prefilling and in decode steps, and the mean number of sequences in a decode step.
/// </summary>
public sealed record ServeFigures(
    string Name,
    int Requests,
    TimeSpan Wall,
    int GeneratedTokens,
    TimeSpan TimeToFirstTokenP50,
    TimeSpan TimeToFirstTokenP99,
    TimeSpan PerTokenP50,
    TimeSpan PerTokenP99,
    TimeSpan Prefill = default,
    TimeSpan Decode = default,
    double RowsPerStep = 0)
{
    public double TokensPerSecond => GeneratedTokens / Wall.TotalSeconds;
    public double RequestsPerSecond => Requests / Wall.TotalSeconds;
}

public static class ServeBenchmark
{
    /// <summary>The seeded request list: the same for every policy measured.</summary>
    public static IReadOnlyList<GenerationRequest> Workload(ServeBenchmarkOptions o, int vocabSize, int bos)
    {
        var rng = new Random((int)o.Seed);
        int LogUniform(int min, int max) => (int)Math.Round(Math.Exp(Math.Log(min) + rng.NextDouble() * (Math.Log(max) - Math.Log(min))));
        return Enumerable.Range(0, o.Requests).Select(i =>
        {
            int length = LogUniform(o.MinPromptTokens, o.MaxPromptTokens);
            var prompt = new int[length];
            prompt[0] = bos;
            for (int t = 1; t < length; t++) prompt[t] = rng.Next(3, vocabSize);
            bool sampled = rng.NextDouble() < o.SampledShare;
            var sampling = new SamplingOptions
            {
                MaxNewTokens = LogUniform(o.MinNewTokens, o.MaxNewTokens),
                Temperature = sampled ? 0.8 : 0,
                TopP = sampled ? 0.95 : 1,
                Seed = i,
            };
            return new GenerationRequest(prompt, sampling);
        }).ToArray();
    }

    /// <summary>Runs the workload through a fresh scheduler with <paramref name="scheduler"/> settings; clients share a request counter.</summary>
    public static async Task<ServeFigures> RunAsync(LanguageModel model, string name, SchedulerOptions scheduler,
        IReadOnlyList<GenerationRequest> workload, int clients, CancellationToken cancellation = default)
    {
        await using var s = new GenerationScheduler(model, scheduler with { Capacity = Math.Max(scheduler.Capacity, clients) });
        int next = -1, tokens = 0;
        var firstToken = new List<TimeSpan>();
        var perToken = new List<TimeSpan>();
        var (prefill, decode, steps, rows) = (TimeSpan.Zero, TimeSpan.Zero, 0, 0L);
        s.BatchCompleted += report =>
        {
            prefill += report.Prefill;          // the model thread raises these one at a time
            decode += report.Decode;
            if (report.Size > 0) (steps, rows) = (steps + 1, rows + report.Size);
        };
        var wall = Stopwatch.StartNew();
        async Task Client()
        {
            for (int i; (i = Interlocked.Increment(ref next)) < workload.Count;)
            {
                var sent = Stopwatch.StartNew();
                if (!s.TryEnqueue(workload[i], cancellation, out var generation)) throw new InvalidOperationException("the scheduler refused a request");
                TimeSpan? first = null;
                await foreach (var _ in generation.Text.ReadAllAsync(cancellation)) first ??= sent.Elapsed;
                var outcome = await generation.Completion;
                var done = sent.Elapsed;
                lock (firstToken)
                {
                    tokens += outcome.CompletionTokens;
                    firstToken.Add(first ?? done);
                    if (outcome.CompletionTokens > 1) perToken.Add((done - (first ?? done)) / (outcome.CompletionTokens - 1));
                }
            }
        }
        await Task.WhenAll(Enumerable.Range(0, clients).Select(_ => Task.Run(Client, cancellation)));
        wall.Stop();
        return new ServeFigures(name, workload.Count, wall.Elapsed, tokens,
            Percentile(firstToken, 0.50), Percentile(firstToken, 0.99), Percentile(perToken, 0.50), Percentile(perToken, 0.99),
            prefill, decode, steps > 0 ? (double)rows / steps : 0);
    }

    /// <summary>Nearest-rank percentile.</summary>
    public static TimeSpan Percentile(IReadOnlyList<TimeSpan> values, double p)
    {
        if (values.Count == 0) return TimeSpan.Zero;
        var sorted = values.Order().ToArray();
        int rank = (int)Math.Ceiling(p * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }
}
