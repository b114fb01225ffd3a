using System.CommandLine;
using System.Globalization;
using System.Net.Http.Json;

namespace Gmsa.Cli.Commands;

/// <summary>
/// `gmsa bench soak`: the service's memory under a long mixed load, on loopback. Starts the built service with small caches
/// (so they fill early and what grows after is not them), sends rounds of requests of every kind from N concurrent clients,
/// each with a context of its own (compress, answer, reconstruct, completions, streamed chat with documents, streamed
/// completions), and prints after each round the resident memory, the managed heap, the prefix cache and any answer
/// that was not 200. A leak shows as growth that does not slow from round to round.
/// </summary>
internal static class BenchSoakCommand
{
    public static Command Create()
    {
        var api = LoopbackService.DllOption();
        var port = LoopbackService.PortOption(5198);
        var clients = new Option<int>("--clients") { Description = "concurrent clients", DefaultValueFactory = _ => 8 }.AtLeast(1);
        var requests = new Option<int>("--requests") { Description = "requests per round, the six kinds in turn", DefaultValueFactory = _ => 2000 }.AtLeast(1);
        var rounds = new Option<int>("--rounds") { Description = "rounds, memory read after each", DefaultValueFactory = _ => 4 }.AtLeast(1);
        var cacheMiB = new Option<int>("--cache-mib") { Description = "the service's soft-token cache (Gmsa:Compression:CacheBytes), MiB", DefaultValueFactory = _ => 16 }.Within(1, 65536);
        var prefixMiB = new Option<int>("--prefix-cache-mib") { Description = "its decoder prefix cache (Gmsa:Serving:SoftPrefixCacheBytes), MiB", DefaultValueFactory = _ => 8 }.Within(0, 65536);
        var command = new Command("soak", "The service's memory over rounds of mixed requests: resident set, managed heap, caches, failures") { api, port, clients, requests, rounds, cacheMiB, prefixMiB };
        command.SetAction(parse => CommandGuard.Run(() =>
        {
            LoopbackService.RequireBuilt(parse.GetValue(api)!);
            long cache = parse.GetValue(cacheMiB) * 1024L * 1024, prefix = parse.GetValue(prefixMiB) * 1024L * 1024;
            using var service = LoopbackService.Start(parse.GetValue(api)!, parse.GetValue(port),
                $"--Gmsa:Compression:CacheBytes={cache}", $"--Gmsa:Compression:MaxCachedBytes={Math.Min(cache, 1024 * 1024)}",
                $"--Gmsa:Serving:SoftPrefixCacheBytes={prefix}");
            int n = parse.GetValue(requests), c = parse.GetValue(clients);
            Console.WriteLine($"{parse.GetValue(rounds)} rounds of {n} requests (6 kinds in turn, each context its own) from {c} clients; " +
                              $"soft-token cache {parse.GetValue(cacheMiB)} MiB, prefix cache {parse.GetValue(prefixMiB)} MiB");
            var rows = new List<string> { Row(service, 0, 0) };
            for (int round = 1; round <= parse.GetValue(rounds); round++)
            {
                int failed = Load(service.Client, (round - 1) * n, n, c).GetAwaiter().GetResult();
                rows.Add(Row(service, round * n, failed));
                Console.Error.WriteLine($"round {round}: {rows[^1]}");
            }
            Console.WriteLine();
            Console.WriteLine("| requests | resident MiB | managed heap committed MiB | prefix cache MiB | not 200 |");
            Console.WriteLine("|---|---|---|---|---|");
            rows.ForEach(Console.WriteLine);
            return 0;
        }));
        return command;
    }

    static string Row(LoopbackService service, int done, int failed)
    {
        var metrics = BenchApiCommand.ScrapeAsync(service.Client).GetAwaiter().GetResult();
        double MiB(string name) => metrics.GetValueOrDefault(name) / (1024 * 1024);
        return string.Create(CultureInfo.InvariantCulture,
            $"| {done} | {service.ResidentMiB():F0} | {MiB("dotnet_gc_last_collection_memory_committed_size_bytes"):F0} | {MiB("gmsa_soft_prefix_cache_size_bytes"):F1} | {failed} |");
    }

    /// <returns>how many answers were not 200</returns>
    static async Task<int> Load(HttpClient http, int first, int count, int clients)
    {
        int next = first - 1, failed = 0;
        await Task.WhenAll(Enumerable.Range(0, clients).Select(_ => Task.Run(async () =>
        {
            for (int i; (i = Interlocked.Increment(ref next)) < first + count;)
            {
                var (path, body) = Request(i);
                using var response = await http.PostAsJsonAsync(path, body);
                await response.Content.ReadAsByteArrayAsync();   // streams to their end
                if (!response.IsSuccessStatusCode) Interlocked.Increment(ref failed);
            }
        })));
        return failed;
    }

    /// <summary>Request <paramref name="i"/>: its kind by i mod 6, its context its own (40-130 words), so caches keep filling.</summary>
    static (string Path, object Body) Request(int i)
    {
        string context = BenchApiCommand.Context(i, 40 + i % 91);
        return (i % 6) switch
        {
            0 => ("/v1/compress", new { rate = 4, contexts = new[] { context }, format = "base64-bfloat16" }),
            1 => ("/v1/answer", new { contexts = new[] { context }, question = " Question: what record is this? Answer:", max_tokens = 12 }),
            2 => ("/v1/completions", new { prompt = context, max_tokens = 24, temperature = 0.8, seed = i }),
            3 => ("/v1/chat/completions", new { messages = new[] { new { role = "user", content = "What record is this?" } }, documents = new[] { context }, max_tokens = 12, stream = true }),
            4 => ("/v1/reconstruct", new { context, max_tokens = 16 }),
            _ => ("/v1/completions", new { prompt = context, max_tokens = 8, stream = true }),
        };
    }
}
