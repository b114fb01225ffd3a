using System.CommandLine;
using System.Diagnostics;
using System.Net.Http.Json;
using Gmsa.Client;
using Gmsa.Engine.Benchmarks;

namespace Gmsa.Cli.Commands;

/// <summary>
/// `gmsa bench api`: the service as a client sees it, on loopback. Starts the built service twice a round (encoder batching
/// on, then one context per encoder call), sends compress requests with distinct contexts (no cache hits) from N concurrent
/// clients, and reports requests/s and latency percentiles for each; then, on the first, the latency of an answer over a
/// cached compressed_id against a completion that reads the same context in full.
/// </summary>
internal static class BenchApiCommand
{
    public static Command Create()
    {
        var api = LoopbackService.DllOption();
        var port = LoopbackService.PortOption(5197);
        var clients = new Option<int>("--clients") { Description = "concurrent clients", DefaultValueFactory = _ => 16 }.AtLeast(1);
        var requests = new Option<int>("--requests") { Description = "compress requests per run (one context each, all distinct)", DefaultValueFactory = _ => 512 }.AtLeast(1);
        var words = new Option<int>("--context-words") { Description = "words per context", DefaultValueFactory = _ => 200 }.AtLeast(1);
        var repeats = new Option<int>("--repeats") { Description = "answers timed each way (medians)", DefaultValueFactory = _ => 5 }.AtLeast(1);
        var rounds = new Option<int>("--rounds") { Description = "times the two servers are run, alternating (a ratio a round: the machine's drift shows)", DefaultValueFactory = _ => 3 }.AtLeast(1);
        var command = new Command("api", "Compress requests/s with and without encoder batching, and answer latency on a cached id against reading in full") { api, port, clients, requests, words, repeats, rounds };
        command.SetAction(parse => CommandGuard.Run(() =>
        {
            string dll = parse.GetValue(api)!;
            LoopbackService.RequireBuilt(dll);
            int n = parse.GetValue(requests), c = parse.GetValue(clients);
            var contexts = Enumerable.Range(0, n).Select(i => Context(i, parse.GetValue(words))).ToArray();
            Console.WriteLine($"{n} compress requests of {parse.GetValue(words)} words from {c} clients, rate 4, loopback port {parse.GetValue(port)}");
            var runs = new List<(int Round, string Name, Figures F)>();
            for (int round = 1; round <= parse.GetValue(rounds); round++)
                foreach (var (name, batch) in new[] { ("batched encoder (MaxBatchContexts 32)", 32), ("one context per call (MaxBatchContexts 1)", 1) })
                {
                    using var server = LoopbackService.Start(dll, parse.GetValue(port), $"--Gmsa:Compression:MaxBatchContexts={batch}", "--Gmsa:Compression:MaxQueuedContexts=1024");
                    var tagged = contexts.Select(x => x + $" ({name}, round {round})").ToArray();   // no cache hits across runs either
                    runs.Add((round, name, CompressLoad(server.Client, tagged, c).GetAwaiter().GetResult()));
                    Console.Error.WriteLine($"round {round}, {name}: {runs[^1].F.PerSecond:F1} requests/s");
                    if (batch == 32 && round == 1) AnswerLatency(server.Client, parse.GetValue(repeats)).GetAwaiter().GetResult();
                }
            Console.WriteLine();
            Console.WriteLine("| round | encoder | requests/s | p50 ms | p99 ms | contexts per encoder call | encoder busy, share of wall time |");
            Console.WriteLine("|---|---|---|---|---|---|---|");
            foreach (var (round, name, f) in runs)
                Console.WriteLine($"| {round} | {name} | {f.PerSecond:F1} | {f.P50:F0} | {f.P99:F0} | {f.MeanBatch:F1} | {f.EncoderShare:P0} |");
            for (int i = 0; i + 1 < runs.Count; i += 2)
                Console.WriteLine($"round {runs[i].Round}: batched / one by one {runs[i].F.PerSecond / runs[i + 1].F.PerSecond:F2}x requests/s");
            return 0;
        }));
        return command;
    }

    /// <param name="EncoderShare">time the encoder was busy (the service's gmsa.compression.duration) over the wall time</param>
    /// <param name="MeanBatch">contexts per encoder call (gmsa.compression.batch_size)</param>
    sealed record Figures(double PerSecond, double P50, double P99, double EncoderShare, double MeanBatch);

    /// <summary>Sums of every Prometheus series of the service's /metrics, by name (labels summed over).</summary>
    internal static async Task<Dictionary<string, double>> ScrapeAsync(HttpClient http)
    {
        var sums = new Dictionary<string, double>();
        foreach (var line in (await http.GetStringAsync("/metrics")).Split('\n'))
        {
            int end = line.IndexOfAny(['{', ' ']);
            if (line.Length == 0 || line[0] == '#' || end <= 0) continue;
            var name = line[..end];
            // "name{labels} value [timestamp]" or "name value [timestamp]"; label values may hold spaces
            var rest = line.Contains('}') ? line[(line.LastIndexOf('}') + 1)..] : line[name.Length..];
            var value = rest.Split(' ', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault();
            if (double.TryParse(value, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var number))
                sums[name] = sums.GetValueOrDefault(name) + number;
        }
        return sums;
    }

    /// <summary>Distinct, deterministic prose-like contexts (so none is a cache hit of another).</summary>
    internal static string Context(int i, int words)
    {
        string[] vocabulary = ["the", "ship", "sailed", "capital", "river", "of", "and", "people", "north", "winter", "grain", "trade", "king", "city", "sea", "was", "in", "a", "long", "road"];
        var rng = new Random(i);
        return $"Record {i}. " + string.Join(' ', Enumerable.Range(0, words).Select(_ => vocabulary[rng.Next(vocabulary.Length)])) + ".";
    }

    static async Task<Figures> CompressLoad(HttpClient http, string[] contexts, int clients)
    {
        var client = new GmsaClient(http);
        await client.CompressAsync(["warm-up context, not timed."], 4);
        var before = await ScrapeAsync(http);
        int next = -1;
        var latencies = new List<TimeSpan>();
        var wall = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, clients).Select(_ => Task.Run(async () =>
        {
            for (int i; (i = Interlocked.Increment(ref next)) < contexts.Length;)
            {
                var one = Stopwatch.StartNew();
                await client.CompressAsync([contexts[i]], 4, format: "base64-bfloat16");   // the wire in bf16: the encoder is what is timed
                lock (latencies) latencies.Add(one.Elapsed);
            }
        })));
        double seconds = wall.Elapsed.TotalSeconds;
        var after = await ScrapeAsync(http);
        double Delta(string name) => after.GetValueOrDefault(name) - before.GetValueOrDefault(name);
        double Percentile(double p) => ServeBenchmark.Percentile(latencies, p).TotalMilliseconds;
        return new Figures(contexts.Length / seconds, Percentile(0.5), Percentile(0.99),
            Delta("gmsa_compression_duration_seconds_sum") / seconds,
            Delta("gmsa_compression_batch_size_sum") / Delta("gmsa_compression_batch_size_count"));
    }

    /// <summary>
    /// Follow-up questions over a ~700-token context: by cached id (soft tokens; after the first question the service also
    /// holds the decoder's keys and values over them) against the completion reading it all. Each call asks a question of
    /// its own, so neither side is timed on a repeated prompt.
    /// </summary>
    static async Task AnswerLatency(HttpClient http, int repeats)
    {
        var client = new GmsaClient(http);
        string context = string.Join(' ', Enumerable.Range(0, 8).Select(i => Context(1000 + i, 60)));
        static string Question(int n) => $" Question {n}: What was the first record? Answer:";
        string id = (await client.CompressAsync([context], 8))[0].CompressedId;
        async Task<double> Median(Func<string, Task> call)
        {
            await call(Question(0));
            var times = new List<double>();
            for (int r = 1; r <= repeats; r++) { var t = Stopwatch.StartNew(); await call(Question(r)); times.Add(t.Elapsed.TotalMilliseconds); }
            return times.Order().ElementAt(times.Count / 2);
        }
        double cached = await Median(question => client.AnswerAsync(question, compressedIds: [id], maxTokens: 16));
        double full = await Median(async question =>
        {
            using var r = await http.PostAsJsonAsync("/v1/completions", new { prompt = context + question, max_tokens = 16 });
            r.EnsureSuccessStatusCode();
        });
        Console.WriteLine($"follow-up answer on a cached compressed_id (rate 8): {cached:F0} ms; completion reading the context in full: {full:F0} ms ({cached / full:F2}x), 16 tokens, medians of {repeats} questions");
    }
}
