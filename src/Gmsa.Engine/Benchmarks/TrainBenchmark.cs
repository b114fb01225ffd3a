using Gmsa.Engine.Model;
using Gmsa.Engine.Training;
using static TorchSharp.torch;

namespace Gmsa.Engine.Benchmarks;

/// <summary>What `gmsa bench train` measures: the real training loop on random tokens.</summary>
public sealed record TrainBenchmarkOptions
{
    public required ModelConfig Model { get; init; }
    public int MicroBatch { get; init; } = 8;
    public int SequenceLength { get; init; } = 512;
    public int WarmupSteps { get; init; } = 2;
    public int MeasuredSteps { get; init; } = 6;
    public int MatmulSize { get; init; } = 1024;
    public IReadOnlyList<ScalarType> Dtypes { get; init; } = [ScalarType.BFloat16, ScalarType.Float32];
    /// <summary>Also measure each dtype with activation checkpointing on (tokens/s and peak memory, in the same run).</summary>
    public bool CompareActivationCheckpointing { get; init; }
}

public sealed record TrainFigures(ScalarType Dtype, double TokensPerSecond, double AchievedGflops, double MatmulGflops, double Bf16MatmulGflops)
{
    public bool ActivationCheckpointing { get; init; }
    /// <summary>Peak resident memory of the process during this configuration's steps (null where not measurable).</summary>
    public long? PeakResidentBytes { get; init; }

    /// <summary>Achieved training FLOP/s over the same run's bf16 matmul figure: the MFU of this machine.</summary>
    public double ShareOfBf16Matmul => AchievedGflops / Bf16MatmulGflops;
    public double ShareOfOwnMatmul => AchievedGflops / MatmulGflops;
}

/// <summary>
/// Training throughput of <see cref="Trainer"/> itself (micro-batch forward and backward, float32
/// master weights for bf16, clipping, AdamW), as tokens/s and as achieved FLOP/s (three forwards per
/// step, <see cref="ModelFlops"/>) next to a matmul measured in the same process.
/// </summary>
public static class TrainBenchmark
{
    public static IReadOnlyList<TrainFigures> Run(TrainBenchmarkOptions options, Action<string>? log = null)
    {
        var matmul = options.Dtypes.Append(ScalarType.BFloat16).Distinct()
            .ToDictionary(d => d, d => EngineBenchmark.MatmulGflops(options.MatmulSize, d, CPU, repeats: 5));
        log?.Invoke($"bf16 matmul {options.MatmulSize}^3: {matmul[ScalarType.BFloat16]:F1} GFLOP/s");
        var results = new List<TrainFigures>();
        foreach (var dtype in options.Dtypes)
            foreach (bool recompute in options.CompareActivationCheckpointing ? [false, true] : new[] { false })
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
                Platform.GlibcAllocator.ReleaseFreedMemory();   // the allocator keeps freed blocks: give them back first
                PeakMemory.Reset();
                double tokensPerSecond = MeasureTokensPerSecond(options, dtype, recompute);
                // The FLOP count is the model's (three forwards per step), so recomputation shows as a lower rate, not more work.
                double flopsPerToken = ModelFlops.TrainingStep(options.Model, 1, options.SequenceLength) / options.SequenceLength;
                var figures = new TrainFigures(dtype, tokensPerSecond, tokensPerSecond * flopsPerToken / 1e9, matmul[dtype], matmul[ScalarType.BFloat16])
                {
                    ActivationCheckpointing = recompute,
                    PeakResidentBytes = PeakMemory.Read(),
                };
                log?.Invoke($"{dtype}{(recompute ? ", activation checkpointing" : "")}: {figures.TokensPerSecond:F0} tokens/s, " +
                            $"{figures.AchievedGflops:F1} GFLOP/s, peak RSS {figures.PeakResidentBytes / 1048576.0:F0} MiB");
                results.Add(figures);
            }
        return results;
    }

    static double MeasureTokensPerSecond(TrainBenchmarkOptions options, ScalarType dtype, bool activationCheckpointing)
    {
        using var run = new TemporaryFolder();
        using var model = new CausalLM(options.Model, dtype, CPU);
        model.InitializeWeights(seed: 0);
        ActivationCheckpoint.Enable(model, activationCheckpointing);
        int vocab = options.Model.VocabSize;
        long needed = (long)(options.WarmupSteps + options.MeasuredSteps + 1) * options.MicroBatch * (options.SequenceLength + 1) + 1;
        var rng = new Random(0);
        var ids = new ushort[needed];
        for (long i = 0; i < needed; i++) ids[i] = (ushort)rng.Next(vocab);
        var stream = new TokenStream(ids, vocab);
        var objective = new LanguageModelObjective(model, stream, stream, options.SequenceLength, options.MicroBatch, seed: 0);
        int steps = options.WarmupSteps + options.MeasuredSteps;
        var training = new TrainingOptions
        {
            Steps = steps, WarmupSteps = 1, LearningRate = 1e-4, MinLearningRate = 1e-5, LogEvery = 1,
            EvalEvery = steps, EvalWindows = 1, CheckpointEvery = steps,
        };
        var rates = new List<double>();
        new Trainer(objective, training, run.Path).Run(resume: false, p =>
        {
            if (p.Step > options.WarmupSteps) rates.Add(p.TokensPerSecond);
        });
        rates.Sort();
        return rates[rates.Count / 2];
    }

    sealed class TemporaryFolder : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("gmsa-bench-train-").FullName;
        public void Dispose() => Directory.Delete(Path, recursive: true);
    }
}
