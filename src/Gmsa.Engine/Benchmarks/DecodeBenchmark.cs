using Gmsa.Engine.Generation;
using Gmsa.Engine.Model;
using static TorchSharp.torch;

namespace Gmsa.Engine.Benchmarks;

/// <summary>What `gmsa bench decode` measures: steady greedy decode of one model folder, both decode paths, one process.</summary>
public sealed record DecodeBenchmarkOptions
{
    public int Tokens { get; init; } = 256;
    public int Repeats { get; init; } = 3;
    public IReadOnlyList<int> Batches { get; init; } = [1, 4, 8, 16];

    /// <summary>Threads that spin beside the CPU step in a third timing of each batch size, as another busy process would (0: not timed).</summary>
    public int BusyCores { get; init; }
}

/// <summary>
/// Decode tokens/s at one batch size through libtorch's forward and through <see cref="CpuDecodeStep"/>; and through the
/// CPU step while <see cref="DecodeBenchmarkOptions.BusyCores"/> threads spin (0 when not timed).
/// </summary>
public sealed record DecodeFigures(int Batch, double LibtorchTokensPerSecond, double KernelTokensPerSecond, double KernelBusyTokensPerSecond = 0)
{
    public double Speedup => KernelTokensPerSecond / LibtorchTokensPerSecond;
}

public static class DecodeBenchmark
{
    /// <summary>Rows start at BOS followed by a different token each, so they are not copies of one another.</summary>
    public static IReadOnlyList<IReadOnlyList<int>> Prompts(int batch, int bos) =>
        Enumerable.Range(0, batch).Select(r => (IReadOnlyList<int>)[bos, 100 + 7 * r]).ToArray();

    /// <summary>
    /// Every path at every batch size runs once at full length untimed, then the timed runs go round all of them
    /// <see cref="DecodeBenchmarkOptions.Repeats"/> times, so a ratio between two batch sizes compares runs of the same
    /// minutes on these noisy machines; medians are reported. Why the long warm-up: with 8 tokens of it, batch 1 (timed
    /// first) ran on code that tiered compilation had not yet recompiled and looked slower than the batches after it.
    /// </summary>
    public static IReadOnlyList<DecodeFigures> Run(CausalLM model, DecodeBenchmarkOptions options, int bos, Action<string>? log = null)
    {
        bool enabled = CpuDecodeStep.Enabled;
        int maxRows = CpuDecodeStep.MaxRows;
        var rates = options.Batches.ToDictionary(b => b, _ => (Libtorch: new List<double>(), Kernel: new List<double>(), Busy: new List<double>()));
        try
        {
            for (int round = -1; round < options.Repeats; round++)
                foreach (int batch in options.Batches)
                {
                    double libtorch = TokensPerSecond(model, options, batch, bos, cpuStep: false);
                    double kernel = TokensPerSecond(model, options, batch, bos, cpuStep: true);
                    double busy = 0;
                    if (options.BusyCores > 0)
                        using (new BusyCores(options.BusyCores)) busy = TokensPerSecond(model, options, batch, bos, cpuStep: true);
                    if (round < 0) continue;   // the warm-up round
                    rates[batch].Libtorch.Add(libtorch);
                    rates[batch].Kernel.Add(kernel);
                    rates[batch].Busy.Add(busy);
                }
        }
        finally
        {
            CpuDecodeStep.Enabled = enabled;
            CpuDecodeStep.MaxRows = maxRows;
        }
        return options.Batches.Select(batch =>
        {
            var f = new DecodeFigures(batch, Timing.Middle(rates[batch].Libtorch), Timing.Middle(rates[batch].Kernel), Timing.Middle(rates[batch].Busy));
            log?.Invoke($"batch {batch}: libtorch {f.LibtorchTokensPerSecond:F1} tokens/s, kernel {f.KernelTokensPerSecond:F1} tokens/s ({f.Speedup:F2}x)");
            return f;
        }).ToArray();
    }

    /// <summary>All rows' new tokens over the decode time of one greedy run (the first token comes from the prefill).</summary>
    static double TokensPerSecond(CausalLM model, DecodeBenchmarkOptions options, int batch, int bos, bool cpuStep)
    {
        int maxRows = CpuDecodeStep.MaxRows;
        CpuDecodeStep.Enabled = cpuStep;
        CpuDecodeStep.MaxRows = Math.Max(maxRows, batch);
        try
        {
            var run = TokenGenerator.Generate(model, Prompts(batch, bos), new SamplingOptions { MaxNewTokens = options.Tokens }, padId: 0);
            return batch * (options.Tokens - 1) / run.Decode.TotalSeconds;
        }
        finally { CpuDecodeStep.MaxRows = maxRows; }
    }

    /// <summary>
    /// Microseconds to sample one row of <paramref name="vocab"/> logits (with 200 ids of history), through libtorch's ops
    /// and through the CPU loops, for greedy + repetition penalty and for temperature + top-p + penalty: medians of 3 x 500.
    /// </summary>
    public static IReadOnlyList<(string Setting, double LibtorchMicroseconds, double LoopsMicroseconds)> Sampling(int vocab)
    {
        using var scope = NewDisposeScope();
        var generator = new Generator(1);
        var logits = randn([1, vocab], generator: generator).mul_(2);
        var history = randint(0, vocab, [1, 200], generator: generator);
        bool loops = Sampler.CpuLoops;
        try
        {
            return new (string, SamplingOptions)[]
            {
                ("greedy, repetition penalty 1.3", new SamplingOptions { RepetitionPenalty = 1.3 }),
                ("temperature 0.8, top-p 0.95, repetition penalty 1.3", new SamplingOptions { Temperature = 0.8, TopP = 0.95, RepetitionPenalty = 1.3, Seed = 1 }),
            }.Select(c =>
            {
                double Time(bool cpuLoops)
                {
                    Sampler.CpuLoops = cpuLoops;
                    var sampler = new Sampler(c.Item2, CPU);
                    var runs = Enumerable.Range(0, 4).Select(_ =>
                    {
                        var clock = System.Diagnostics.Stopwatch.StartNew();
                        for (int i = 0; i < 500; i++) { using var step = NewDisposeScope(); sampler.Next(logits, history).item<long>(); }
                        return clock.Elapsed.TotalMilliseconds * 1000 / 500;
                    }).Skip(1).Order().ToList();   // the first run warms up
                    return runs[1];
                }
                return (c.Item1, Time(false), Time(true));
            }).ToArray();
        }
        finally { Sampler.CpuLoops = loops; }
    }

    /// <summary>Greedy tokens from BOS alone, for comparing text with llama2.c's run.c on the same weights.</summary>
    public static IReadOnlyList<int> GreedyFromBos(CausalLM model, int bos, int tokens) =>
        TokenGenerator.Generate(model, [[bos]], new SamplingOptions { MaxNewTokens = tokens }, padId: 0).Sequences[0].Tokens;
}
