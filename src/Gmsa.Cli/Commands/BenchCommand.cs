using System.CommandLine;
using Gmsa.Engine.Benchmarks;
using Gmsa.Engine.Model;
using Gmsa.Engine.Training;
using TorchSharp;

namespace Gmsa.Cli.Commands;

/// <summary>`gmsa bench engine`: matmul, prefill and decode figures measured in one process.</summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var repeats = new Option<int>("--repeats") { Description = "timed runs per figure (medians are reported)", DefaultValueFactory = _ => 5 };
        var decodeSteps = new Option<int>("--decode-steps") { Description = "tokens generated per decode measurement", DefaultValueFactory = _ => 32 };
        var dtypes = new Option<string[]>("--dtype") { Description = "dtypes to measure", DefaultValueFactory = _ => ["bfloat16", "float32"], AllowMultipleArgumentsPerToken = true };
        var threads = new Option<int>("--threads") { Description = "intra-op threads (0 = libtorch's default)", DefaultValueFactory = _ => 0 };
        var device = new DeviceOptions();
        var engine = new Command("engine", "Matmul GFLOP/s, prefill GFLOP/s as a share of it, decode tokens/s at batch 1 and 16") { repeats, decodeSteps, dtypes, threads };
        engine.Options.Add(device.Device);
        engine.SetAction(parse => CommandGuard.Run(() =>
        {
            if (parse.GetValue(threads) > 0) torch.set_num_threads(parse.GetValue(threads));
            var options = new EngineBenchmarkOptions
            {
                Repeats = parse.GetValue(repeats),
                DecodeSteps = parse.GetValue(decodeSteps),
                Dtypes = parse.GetValue(dtypes)!.Select(Devices.ParseDtype).ToArray(),
            };
            var dev = device.ParseDevice(parse);
            var m = options.Model;
            Console.WriteLine($"device {dev}, {torch.get_num_threads()} threads; model hidden {m.HiddenSize}, {m.NumHiddenLayers} layers, " +
                              $"heads {m.NumAttentionHeads}/{m.NumKeyValueHeads}, intermediate {m.IntermediateSize}, vocab {m.VocabSize}");
            var figures = EngineBenchmark.Run(options, dev, line => Console.Error.WriteLine(line));
            Console.WriteLine();
            Console.WriteLine($"| dtype | matmul {options.MatmulSize}^3 GFLOP/s | prefill B={options.PrefillBatch} L={options.PrefillLength} GFLOP/s | prefill / matmul | " +
                              string.Join(" | ", options.DecodeBatches.Select(b => $"decode B={b} tok/s")) + " |");
            Console.WriteLine("|---|---|---|---|" + string.Concat(options.DecodeBatches.Select(_ => "---|")));
            foreach (var f in figures)
                Console.WriteLine($"| {Devices.DtypeName(f.Dtype)} | {f.MatmulGflops:F1} | {f.PrefillGflops:F1} | {f.PrefillShareOfMatmul:P0} | " +
                                  string.Join(" | ", f.Decode.Select(d => d.TokensPerSecond.ToString("F1"))) + " |");
            return 0;
        }));
        return new Command("bench", "Benchmarks") { engine, CreateTrain() };
    }

    /// <summary>`gmsa bench train`: the training loop's tokens/s and achieved FLOP/s next to a same-run bf16 matmul.</summary>
    static Command CreateTrain()
    {
        var recipe = new Option<string>("--recipe") { Description = "training recipe whose model shape, sequence length and micro-batch are measured", DefaultValueFactory = _ => "recipes/gmsa-tiny.json" };
        var steps = new Option<int>("--steps") { Description = "timed optimizer steps (after 2 warm-up steps; the median is reported)", DefaultValueFactory = _ => 6 };
        var dtypes = new Option<string[]>("--dtype") { Description = "compute dtypes to measure", DefaultValueFactory = _ => ["bfloat16", "float32"], AllowMultipleArgumentsPerToken = true };
        var command = new Command("train", "Training tokens/s and achieved FLOP/s as a share of the same-run bf16 matmul") { recipe, steps, dtypes };
        command.SetAction(parse => CommandGuard.Run(() =>
        {
            var r = TrainingRecipe.Load(parse.GetValue(recipe)!);
            var options = new TrainBenchmarkOptions
            {
                Model = r.Model, MicroBatch = r.MicroBatch, SequenceLength = r.SequenceLength,
                MeasuredSteps = parse.GetValue(steps), Dtypes = parse.GetValue(dtypes)!.Select(Devices.ParseDtype).ToArray(),
            };
            var m = r.Model;
            Console.WriteLine($"cpu, {torch.get_num_threads()} threads; model hidden {m.HiddenSize}, {m.NumHiddenLayers} layers, heads {m.NumAttentionHeads}/{m.NumKeyValueHeads}, " +
                              $"intermediate {m.IntermediateSize}, vocab {m.VocabSize}; micro-batch {r.MicroBatch} x {r.SequenceLength} tokens");
            var figures = TrainBenchmark.Run(options, line => Console.Error.WriteLine(line));
            Console.WriteLine();
            Console.WriteLine("| dtype | training tokens/s | achieved GFLOP/s | same-run matmul GFLOP/s (this dtype) | share of bf16 matmul |");
            Console.WriteLine("|---|---|---|---|---|");
            foreach (var f in figures)
                Console.WriteLine($"| {Devices.DtypeName(f.Dtype)} | {f.TokensPerSecond:F0} | {f.AchievedGflops:F1} | {f.MatmulGflops:F1} | {f.ShareOfBf16Matmul:P0} |");
            return 0;
        }));
        return command;
    }
}
