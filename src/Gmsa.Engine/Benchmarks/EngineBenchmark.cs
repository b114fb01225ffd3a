using Gmsa.Engine.Generation;
using Gmsa.Engine.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace Gmsa.Engine.Benchmarks;

/// <summary>What `gmsa bench engine` measures; all figures come from one process so ratios are fair.</summary>
public sealed record EngineBenchmarkOptions
{
    public int MatmulSize { get; init; } = 1024;
    public int Repeats { get; init; } = 5;
    public int PrefillBatch { get; init; } = 4;
    public int PrefillLength { get; init; } = 512;
    public int DecodePromptLength { get; init; } = 128;
    public int DecodeSteps { get; init; } = 32;
    public IReadOnlyList<int> DecodeBatches { get; init; } = [1, 16];
    public IReadOnlyList<ScalarType> Dtypes { get; init; } = [ScalarType.BFloat16, ScalarType.Float32];

    /// <summary>The LLaMA-shaped model: hidden 1024, 8 layers, GQA 16/4 heads, intermediate 2816.</summary>
    public ModelConfig Model { get; init; } = new()
    {
        VocabSize = 32000, HiddenSize = 1024, IntermediateSize = 2816, NumHiddenLayers = 8,
        NumAttentionHeads = 16, NumKeyValueHeads = 4, HeadDim = 64, MaxPositionEmbeddings = 4096, RmsNormEps = 1e-5,
    };
}

public sealed record DtypeFigures(
    ScalarType Dtype,
    double MatmulGflops,
    double PrefillGflops,
    TimeSpan PrefillTime,
    IReadOnlyList<(int Batch, double TokensPerSecond)> Decode)
{
    public double PrefillShareOfMatmul => PrefillGflops / MatmulGflops;
}

public static class EngineBenchmark
{
    public static IReadOnlyList<DtypeFigures> Run(EngineBenchmarkOptions options, Device device, Action<string>? log = null)
    {
        var results = new List<DtypeFigures>();
        foreach (var dtype in options.Dtypes)
        {
            double matmul = MatmulGflops(options.MatmulSize, dtype, device, options.Repeats);
            log?.Invoke($"{dtype}: matmul {options.MatmulSize}^3 {matmul:F1} GFLOP/s");
            using var model = new CausalLM(options.Model, dtype, device);
            model.InitializeWeights(seed: 0);
            model.eval();
            var (prefillTime, prefillFlops) = Prefill(model, options);
            double prefill = prefillFlops / prefillTime.TotalSeconds / 1e9;
            log?.Invoke($"{dtype}: prefill B={options.PrefillBatch} L={options.PrefillLength} {prefillTime.TotalMilliseconds:F0} ms, {prefill:F1} GFLOP/s");
            var decode = options.DecodeBatches.Select(b => (b, DecodeTokensPerSecond(model, options, b))).ToList();
            foreach (var (b, tps) in decode) log?.Invoke($"{dtype}: decode batch {b}: {tps:F1} tokens/s");
            results.Add(new DtypeFigures(dtype, matmul, prefill, prefillTime, decode));
        }
        return results;
    }

    public static double MatmulGflops(int n, ScalarType dtype, Device device, int repeats)
    {
        using var scope = NewDisposeScope();
        var a = randn(n, n, dtype: dtype, device: device);
        var b = randn(n, n, dtype: dtype, device: device);
        var time = Timing.Median(() => { using var c = a.matmul(b); Synchronize(device); }, repeats * 4, warmup: 3);
        return 2.0 * n * n * n / time.TotalSeconds / 1e9;
    }

    /// <summary>
    /// Prefill as generation runs it: the trunk over every prompt token, the LM head at the last one
    /// (FLOPs counted by <see cref="ModelFlops.Forward"/>).
    /// </summary>
    public static (TimeSpan Time, double Flops) Prefill(CausalLM model, EngineBenchmarkOptions options)
    {
        var c = model.Config;
        long b = options.PrefillBatch, s = options.PrefillLength;
        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        var ids = randint(c.VocabSize, [b, s], dtype: ScalarType.Int64, device: model.Device);
        var time = Timing.Median(() =>
        {
            using var step = NewDisposeScope();
            model.forward(ids, lastTokenOnly: true);
            Synchronize(model.Device);
        }, options.Repeats);
        double flops = ModelFlops.Forward(c, b, s, headTokensPerSequence: 1);
        return (time, flops);
    }

    /// <summary>Steady-state decode: tokens per second over DecodeSteps steps after a prefill, greedy, no stop.</summary>
    public static double DecodeTokensPerSecond(CausalLM model, EngineBenchmarkOptions options, int batch)
    {
        var rng = new Random(batch);
        var prompts = Enumerable.Range(0, batch)
            .Select(_ => (IReadOnlyList<int>)Enumerable.Range(0, options.DecodePromptLength).Select(_ => rng.Next(3, model.Config.VocabSize)).ToArray())
            .ToArray();
        var sampling = new SamplingOptions { MaxNewTokens = options.DecodeSteps };
        TokenGenerator.Generate(model, prompts, sampling with { MaxNewTokens = 4 }, padId: 0); // warm-up
        var rates = Enumerable.Range(0, Math.Max(1, options.Repeats / 2))
            .Select(_ =>
            {
                var r = TokenGenerator.Generate(model, prompts, sampling, padId: 0);
                // The first token comes from the prefill; the decode clock covers the other steps.
                return batch * (options.DecodeSteps - 1) / r.Decode.TotalSeconds;
            })
            .Order().ToList();
        return rates[rates.Count / 2];
    }

    internal static void Synchronize(Device device)
    {
        if (device.type == DeviceType.CUDA) cuda.synchronize(device);
    }
}
