using System.CommandLine;
using Gmsa.Engine.Benchmarks;
using Gmsa.Engine.Model;
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
        return new Command("bench", "Benchmarks") { engine };
    }
}
