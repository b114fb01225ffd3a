using System.CommandLine;
using Gmsa.Engine.Benchmarks;
using Gmsa.Engine.Checkpoints;
using Gmsa.Engine.Compression;
using Gmsa.Engine.Model;
using Gmsa.Engine.Text;
using Gmsa.Engine.Serving;
using Gmsa.Engine.Training;
using TorchSharp;

namespace Gmsa.Cli.Commands;

/// <summary>`gmsa bench engine | train | compress`: figures measured in one process, ratios within one run.</summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var repeats = new Option<int>("--repeats") { Description = "timed runs per figure (medians are reported)", DefaultValueFactory = _ => 5 }.AtLeast(1);
        var decodeSteps = new Option<int>("--decode-steps") { Description = "tokens generated per decode measurement", DefaultValueFactory = _ => 32 }.AtLeast(1);
        var dtypes = new Option<string[]>("--dtype") { Description = "dtypes to measure", DefaultValueFactory = _ => ["bfloat16", "float32"], AllowMultipleArgumentsPerToken = true };
        var threads = new Option<int>("--threads") { Description = "intra-op threads (0 = libtorch's default)", DefaultValueFactory = _ => 0 }.AtLeast(0);
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
        return new Command("bench", "Benchmarks") { engine, CreateTrain(), CreateCompress(), CreateDecode(), CreateServe(), BenchApiCommand.Create(), BenchSoakCommand.Create() };
    }

    /// <summary>`gmsa bench train`: the training loop's tokens/s and achieved FLOP/s next to a same-run bf16 matmul.</summary>
    static Command CreateTrain()
    {
        var recipe = new Option<string>("--recipe") { Description = "training recipe whose model shape, sequence length and micro-batch are measured", DefaultValueFactory = _ => "recipes/gmsa-tiny.json" };
        var steps = new Option<int>("--steps") { Description = "timed optimizer steps (after 2 warm-up steps; the median is reported)", DefaultValueFactory = _ => 6 }.AtLeast(1);
        var dtypes = new Option<string[]>("--dtype") { Description = "compute dtypes to measure", DefaultValueFactory = _ => ["bfloat16", "float32"], AllowMultipleArgumentsPerToken = true };
        var recompute = new Option<bool>("--activation-checkpointing") { Description = "also measure each dtype with activation checkpointing on: tokens/s and peak memory, both ways in one run" };
        var command = new Command("train", "Training tokens/s and achieved FLOP/s as a share of the same-run bf16 matmul") { recipe, steps, dtypes, recompute };
        command.SetAction(parse => CommandGuard.Run(() =>
        {
            var r = TrainingRecipe.Load(parse.GetValue(recipe)!);
            var options = new TrainBenchmarkOptions
            {
                Model = r.Model, MicroBatch = r.MicroBatch, SequenceLength = r.SequenceLength,
                MeasuredSteps = parse.GetValue(steps), Dtypes = parse.GetValue(dtypes)!.Select(Devices.ParseDtype).ToArray(),
                CompareActivationCheckpointing = parse.GetValue(recompute),
            };
            var m = r.Model;
            Console.WriteLine($"cpu, {torch.get_num_threads()} threads; model hidden {m.HiddenSize}, {m.NumHiddenLayers} layers, heads {m.NumAttentionHeads}/{m.NumKeyValueHeads}, " +
                              $"intermediate {m.IntermediateSize}, vocab {m.VocabSize}; micro-batch {r.MicroBatch} x {r.SequenceLength} tokens");
            var figures = TrainBenchmark.Run(options, line => Console.Error.WriteLine(line));
            Console.WriteLine();
            bool both = parse.GetValue(recompute);
            Console.WriteLine($"| dtype |{(both ? " activation checkpointing | peak RSS MiB |" : "")} training tokens/s | achieved GFLOP/s | same-run matmul GFLOP/s (this dtype) | share of bf16 matmul |");
            Console.WriteLine($"|---|{(both ? "---|---|" : "")}---|---|---|---|");
            foreach (var f in figures)
                Console.WriteLine($"| {Devices.DtypeName(f.Dtype)} |{(both ? $" {(f.ActivationCheckpointing ? "on" : "off")} | {f.PeakResidentBytes / 1048576.0:F0} |" : "")} " +
                                  $"{f.TokensPerSecond:F0} | {f.AchievedGflops:F1} | {f.MatmulGflops:F1} | {f.ShareOfBf16Matmul:P0} |");
            if (both)
                foreach (var pair in figures.GroupBy(f => f.Dtype).Where(g => g.Count() == 2))
                {
                    var (off, on) = (pair.Single(f => !f.ActivationCheckpointing), pair.Single(f => f.ActivationCheckpointing));
                    Console.WriteLine($"{Devices.DtypeName(pair.Key)}: activation checkpointing runs at {on.TokensPerSecond / off.TokensPerSecond:F2}x the tokens/s " +
                                      $"with {(double?)on.PeakResidentBytes / off.PeakResidentBytes:F2}x the peak resident memory");
                }
            return 0;
        }));
        return command;
    }

    /// <summary>A fixed question of about 12 tokens: what it asks does not change the timings.</summary>
    const string Question = "What did the committee decide about the budget for next year?";

    /// <summary>`gmsa bench compress`: GMSA against the same decoder reading the full context, as Markdown.</summary>
    static Command CreateCompress()
    {
        var model = new Option<string>("--model") { Description = "base model folder", DefaultValueFactory = _ => "models/gmsa-tiny" };
        var compressor = new Option<string?>("--compressor") { Description = "compressor folder (default: MODEL/compressor if it exists, else a fresh untrained one from --recipe)" };
        var recipe = new Option<string>("--recipe") { Description = "stage-1 recipe whose compressor shape is built when no trained compressor is given", DefaultValueFactory = _ => "recipes/gmsa-tiny-ae.json" };
        var repeats = new Option<int>("--repeats") { Description = "timed runs per figure after one warm-up (medians are reported)", DefaultValueFactory = _ => 5 }.AtLeast(1);
        var threads = new Option<int>("--threads") { Description = "intra-op threads (0 = libtorch's default)", DefaultValueFactory = _ => 0 }.AtLeast(0);
        var device = new DeviceOptions();
        var command = new Command("compress", "GMSA against full-context reading: first-token time, follow-up, 100-token answers, encoder throughput, training FLOP/s") { model, compressor, recipe, repeats, threads };
        device.AddTo(command);
        command.SetAction(parse => CommandGuard.Run(() =>
        {
            if (parse.GetValue(threads) > 0) torch.set_num_threads(parse.GetValue(threads));
            string modelDir = parse.GetValue(model)!, recipePath = parse.GetValue(recipe)!;
            string? folder = parse.GetValue(compressor);
            string defaultFolder = Path.Combine(modelDir, GmsaModel.DefaultCompressorFolder);
            if (folder is null && CompressorFolder.Exists(defaultFolder)) folder = defaultFolder;
            var dev = device.ParseDevice(parse);
            var tokenizer = TextTokenizer.Load(modelDir);
            using var decoder = PretrainedModel.Load(modelDir, device.ParseDtype(parse), dev);
            using var gmsa = folder is not null
                ? CompressorFolder.Load(folder, decoder)
                : CompressionBenchmark.FreshCompressor(decoder, CompressorRecipe.Load(recipePath).Compressor, seed: 1337);
            var options = new CompressionBenchmarkOptions
            {
                Repeats = parse.GetValue(repeats),
                Question = tokenizer.Encode(Question, addBos: false),
                BosId = tokenizer.BosId,
                EosId = tokenizer.EosId ?? 2,
                AutoencoderPrompt = tokenizer.Encode(gmsa.Config.AutoencoderPrompt, addBos: false),
            };
            var m = decoder.Config;
            var cc = gmsa.Config;
            Console.WriteLine($"device {dev}, {torch.get_num_threads()} threads; {modelDir}: hidden {m.HiddenSize}, {m.NumHiddenLayers} layers, window {m.ContextLength}, " +
                              $"{Devices.DtypeName(decoder.DType)}; compressor: {(folder ?? $"fresh and untrained, built from {recipePath} (timings do not depend on training)")}, " +
                              $"encoder {cc.EncoderLayers} layers + LoRA r{cc.LoraRank}, alignment {cc.AlignmentLayers}, segments of {cc.SegmentLength}, decoder LoRA r{cc.DecoderLoraRank}");
            Console.WriteLine($"context: {options.ContextTokens} seeded random tokens; question: \"{Question}\" ({options.Question.Count} tokens); medians of {options.Repeats} runs after one warm-up, each figure and its baseline timed in turn");
            var rows = CompressionBenchmark.Run(decoder, gmsa, options, line => Console.Error.WriteLine(line));
            Console.WriteLine();
            Console.WriteLine("| figure | GMSA | baseline | GMSA / baseline | goal | what is compared |");
            Console.WriteLine("|---|---|---|---|---|---|");
            foreach (var r in rows)
                Console.WriteLine($"| {r.Figure} | {r.Gmsa:F1} {r.Unit} | {r.Baseline:F1} {r.Unit} | {r.Ratio:F3}x | {r.Goal} | {r.Setup} |");
            return 0;
        }));
        return command;
    }

    /// <summary>`gmsa bench decode`: greedy decode tokens/s of a model folder through libtorch and through the CPU decode step, and llama2.c's run.c on the same weights.</summary>
    static Command CreateDecode()
    {
        var model = new Option<string>("--model") { Description = "model folder", DefaultValueFactory = _ => "models/gmsa-tiny" };
        var tokens = new Option<int>("--tokens") { Description = "new tokens per row and run", DefaultValueFactory = _ => 256 }.AtLeast(1);
        var repeats = new Option<int>("--repeats") { Description = "timed rounds over every batch size and path, after an untimed one (medians are reported)", DefaultValueFactory = _ => 3 }.AtLeast(1);
        var batches = new Option<int[]>("--batch") { Description = "batch sizes to measure", DefaultValueFactory = _ => [1, 4, 8, 16], AllowMultipleArgumentsPerToken = true }.EachAtLeast(1);
        var threads = new Option<int>("--threads") { Description = "cores for libtorch, the decode kernel and run.c (0 = all)", DefaultValueFactory = _ => 0 }.AtLeast(0);
        var llama2c = new Option<string?>("--llama2c") { Description = "a compiled llama2.c `run` binary to compare with on the same weights (LLaMA folders only)" };
        var kernelRows = new Option<int>("--kernel-rows") { Description = "rows up to which the CPU step's projections use its own kernel, above it libtorch's GEMM (4 was the default before 2026-12-04)", DefaultValueFactory = _ => CpuDecodeStep.KernelRows }.AtLeast(0);
        var busyCores = new Option<int>("--busy-cores") { Description = "also time the CPU step while this many threads spin beside it, as a busy neighbour process would (0 = not timed)", DefaultValueFactory = _ => 0 }.AtLeast(0);
        var device = new DeviceOptions();
        var command = new Command("decode", "Decode tokens/s: libtorch forward vs the CPU decode step, batch 1..16, and llama2.c's run.c") { model, tokens, repeats, batches, threads, llama2c, kernelRows, busyCores };
        device.AddTo(command);
        command.SetAction(parse => CommandGuard.Run(() =>
        {
            CommandPaths.RequireFile(parse.GetValue(llama2c), "llama2.c binary"); // it runs after every other figure
            CpuDecodeStep.KernelRows = parse.GetValue(kernelRows);
            int cores = parse.GetValue(threads) > 0 ? parse.GetValue(threads) : Environment.ProcessorCount;
            torch.set_num_threads(cores);
            SmallBatchLinear.Threads = cores;
            string dir = parse.GetValue(model)!;
            using var lm = Gmsa.Engine.Generation.LanguageModel.Load(dir, device.ParseDevice(parse), device.ParseDtype(parse));
            var m = lm.Model;
            int bos = lm.Tokenizer.BosId ?? 1;
            var options = new DecodeBenchmarkOptions
            {
                Tokens = parse.GetValue(tokens), Repeats = parse.GetValue(repeats), Batches = parse.GetValue(batches)!, BusyCores = parse.GetValue(busyCores),
            };
            Console.WriteLine($"{dir}: {m.ParameterCount():N0} parameters, {Devices.DtypeName(m.DType)}, {m.Device}, {cores} cores; " +
                              $"greedy, {options.Tokens} tokens a row, median of {options.Repeats}");
            var figures = lm.Runner.Run(() => DecodeBenchmark.Run(m, options, bos, line => Console.Error.WriteLine(line)));
            Console.WriteLine();
            bool busy = options.BusyCores > 0;
            Console.WriteLine("| batch | libtorch forward tok/s | CPU decode step tok/s | speed-up |" + (busy ? $" CPU step, {options.BusyCores} busy tok/s | busy / quiet |" : ""));
            Console.WriteLine("|---|---|---|---|" + (busy ? "---|---|" : ""));
            foreach (var f in figures)
                Console.WriteLine($"| {f.Batch} | {f.LibtorchTokensPerSecond:F1} | {f.KernelTokensPerSecond:F1} | {f.Speedup:F2}x |" +
                                  (busy ? $" {f.KernelBusyTokensPerSecond:F1} | {f.KernelBusyTokensPerSecond / f.KernelTokensPerSecond:F2}x |" : ""));
            var best = figures.ToDictionary(f => f.Batch, f => Math.Max(f.KernelTokensPerSecond, f.LibtorchTokensPerSecond));
            if (best.TryGetValue(1, out double single))
                foreach (var (batch, rate) in best.Where(b => b.Key > 1))
                    Console.WriteLine($"aggregate at batch {batch} (faster path): {rate:F1} tokens/s = {rate / single:F2}x batch 1");
            foreach (var (setting, libtorch, loops) in lm.Runner.Run(() => DecodeBenchmark.Sampling(m.Config.VocabSize)))
                Console.WriteLine($"sampling one row of {m.Config.VocabSize} logits, {setting}: libtorch ops {libtorch:F0} us, CPU loops {loops:F0} us ({libtorch / loops:F1}x)");

            if (parse.GetValue(llama2c) is { } binary && best.TryGetValue(1, out double gmsa))
            {
                var work = Directory.CreateTempSubdirectory("gmsa-llama2c-");
                try
                {
                    var reference = Llama2cReference.Run(binary, dir, options.Tokens, cores, work.FullName);
                    var ours = lm.Runner.Run(() => DecodeBenchmark.GreedyFromBos(m, bos, options.Tokens));
                    string text = lm.Tokenizer.Decode(ours).Trim();
                    int same = 0;
                    while (same < text.Length && same < reference.Text.Length && text[same] == reference.Text[same]) same++;
                    Console.WriteLine($"llama2.c run.c, batch 1, {cores} threads, float32: {reference.TokensPerSecond:F1} tokens/s; " +
                                      $"Gmsa batch 1: {gmsa:F1} tokens/s = {gmsa / reference.TokensPerSecond:F2}x run.c");
                    Console.WriteLine($"greedy text from BOS: the first {same} of {Math.Min(text.Length, reference.Text.Length)} characters agree with run.c's");
                }
                finally { work.Delete(recursive: true); }
            }
            return 0;
        }));
        return command;
    }

    /// <summary>`gmsa bench serve`: a mixed workload through the scheduler with continuous batching, static batching and one request at a time.</summary>
    static Command CreateServe()
    {
        var model = new Option<string>("--model") { Description = "model folder", DefaultValueFactory = _ => "models/gmsa-tiny" };
        var clients = new Option<int>("--clients") { Description = "concurrent clients, each sending its next request when the last is answered", DefaultValueFactory = _ => 16 }.AtLeast(1);
        var requests = new Option<int>("--requests") { Description = "requests in the workload", DefaultValueFactory = _ => 64 }.AtLeast(1);
        var maxBatch = new Option<int>("--max-batch") { Description = "sequences decoding together (continuous and static)", DefaultValueFactory = _ => 16 }.AtLeast(1);
        var chunk = new Option<int>("--prefill-chunk") { Description = "prompt positions prefilled between decode steps", DefaultValueFactory = _ => 256 }.AtLeast(1);
        var seed = new Option<long>("--seed") { Description = "workload seed", DefaultValueFactory = _ => 1 };
        var threads = new Option<int>("--threads") { Description = "cores for libtorch and the decode kernel (0 = all)", DefaultValueFactory = _ => 0 }.AtLeast(0);
        var device = new DeviceOptions();
        var command = new Command("serve", "Requests/s, tokens/s and latency percentiles of one mixed workload: continuous vs static batching vs one by one, and continuous with one shared KV cache")
        {
            model, clients, requests, maxBatch, chunk, seed, threads,
        };
        device.AddTo(command);
        command.SetAction(parse => CommandGuard.Run(() =>
        {
            int cores = parse.GetValue(threads) > 0 ? parse.GetValue(threads) : Environment.ProcessorCount;
            using var lm = Gmsa.Engine.Generation.LanguageModel.Load(parse.GetValue(model)!, device.ParseDevice(parse), device.ParseDtype(parse));
            lm.Runner.Run(() => { torch.set_num_threads(cores); return true; });
            SmallBatchLinear.Threads = cores;
            var o = new ServeBenchmarkOptions { Clients = parse.GetValue(clients), Requests = parse.GetValue(requests), Seed = parse.GetValue(seed) };
            var workload = ServeBenchmark.Workload(o, lm.Tokenizer.VocabSize, lm.Tokenizer.BosId ?? 1);
            Console.WriteLine($"{parse.GetValue(model)}: {Devices.DtypeName(lm.Model.DType)}, {cores} cores; {o.Requests} requests from {o.Clients} clients, " +
                              $"prompts {o.MinPromptTokens}-{o.MaxPromptTokens} and max_tokens {o.MinNewTokens}-{o.MaxNewTokens} tokens (log-uniform), " +
                              $"{o.SampledShare:P0} sampled, seed {o.Seed}");
            var policies = new (string Name, SchedulerOptions Options)[]
            {
                ("continuous batching", new() { MaxBatchSize = parse.GetValue(maxBatch), PrefillChunkTokens = parse.GetValue(chunk) }),
                ("static batching", new() { MaxBatchSize = parse.GetValue(maxBatch), Policy = BatchingPolicy.Static, PrefillChunkTokens = parse.GetValue(chunk) }),
                ("one by one", new() { MaxBatchSize = 1, Policy = BatchingPolicy.Static, PrefillChunkTokens = parse.GetValue(chunk) }),
                ("continuous, one shared cache", new() { MaxBatchSize = parse.GetValue(maxBatch), PrefillChunkTokens = parse.GetValue(chunk), RowSlots = false }),
                ("continuous, a forward per prompt", new() { MaxBatchSize = parse.GetValue(maxBatch), PrefillChunkTokens = parse.GetValue(chunk), BatchedPrefill = false }),
                ("static, a forward per prompt", new() { MaxBatchSize = parse.GetValue(maxBatch), Policy = BatchingPolicy.Static, PrefillChunkTokens = parse.GetValue(chunk), BatchedPrefill = false }),
            };
            // Warm-up, outside every measured run: libtorch's first calls, and the JIT's tiers. A few requests were not
            // enough: the policies measured later ran on code that dynamic PGO had recompiled meanwhile (up to ~15 % faster
            // decode steps), so the whole workload runs once first.
            ServeBenchmark.RunAsync(lm, "warm-up", policies[0].Options, workload, o.Clients).GetAwaiter().GetResult();
            var figures = policies.Select(p =>
            {
                var f = ServeBenchmark.RunAsync(lm, p.Name, p.Options, workload, o.Clients).GetAwaiter().GetResult();
                Console.Error.WriteLine($"{p.Name}: {f.Wall.TotalSeconds:F1} s, {f.RequestsPerSecond:F2} requests/s");
                return f;
            }).ToList();
            Console.WriteLine();
            Console.WriteLine("| policy | wall s | requests/s | tokens/s | TTFT p50 ms | TTFT p99 ms | per-token p50 ms | per-token p99 ms | prefill s | decode steps s | rows per step |");
            Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|---|");
            foreach (var f in figures)
                Console.WriteLine($"| {f.Name} | {f.Wall.TotalSeconds:F1} | {f.RequestsPerSecond:F2} | {f.TokensPerSecond:F0} | {f.TimeToFirstTokenP50.TotalMilliseconds:F0} | " +
                                  $"{f.TimeToFirstTokenP99.TotalMilliseconds:F0} | {f.PerTokenP50.TotalMilliseconds:F1} | {f.PerTokenP99.TotalMilliseconds:F1} | " +
                                  $"{f.Prefill.TotalSeconds:F2} | {f.Decode.TotalSeconds:F2} | {f.RowsPerStep:F1} |");
            var (continuous, stat) = (figures[0], figures[1]);
            Console.WriteLine($"continuous / static: {continuous.RequestsPerSecond / stat.RequestsPerSecond:F2}x requests/s, " +
                              $"p99 TTFT {continuous.TimeToFirstTokenP99.TotalMilliseconds:F0} ms vs {stat.TimeToFirstTokenP99.TotalMilliseconds:F0} ms; " +
                              $"continuous / one by one: {continuous.RequestsPerSecond / figures[2].RequestsPerSecond:F2}x; " +
                              $"a slot per sequence / one shared cache: {continuous.RequestsPerSecond / figures[3].RequestsPerSecond:F2}x");
            var decode = lm.Runner.Run(() => DecodeBenchmark.Run(lm.Model, new DecodeBenchmarkOptions { Batches = [1, 16], Tokens = 128, Repeats = 1 }, lm.Tokenizer.BosId ?? 1));
            double single = Math.Max(decode[0].KernelTokensPerSecond, decode[0].LibtorchTokensPerSecond);
            double sixteen = Math.Max(decode[1].KernelTokensPerSecond, decode[1].LibtorchTokensPerSecond);
            Console.WriteLine($"decode, same process: batch 1 {single:F0} tokens/s, batch 16 {sixteen:F0} tokens/s ({sixteen / single:F2}x)");
            return 0;
        }));
        return command;
    }
}
