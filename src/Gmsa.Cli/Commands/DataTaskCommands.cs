using System.CommandLine;
using Gmsa.Engine.Compression;
using Gmsa.Engine.Corpus;
using Gmsa.Engine.Evaluation;
using Gmsa.Engine.Text;
using Gmsa.Engine.Training;

namespace Gmsa.Cli.Commands;

/// <summary>
/// `gmsa data qa | passkey`: GMSA's task sets beside the corpus: Factbook QA over country profiles
/// (fine-tuning and evaluation), passkey retrieval at growing context lengths.
/// </summary>
internal static class DataTaskCommands
{
    public static Command Qa()
    {
        var cache = new Option<string>("--cache") { Description = "folder of the downloaded archives (the Factbook's is reused)", DefaultValueFactory = _ => "data/cache" };
        var output = new Option<string>("--out") { Description = "folder for {train,validation,test}.jsonl and README.md", DefaultValueFactory = _ => "data/qa" };
        var seed = SeedOption("order of the facts in each profile");
        var command = new Command("qa", "Write Factbook QA: a short profile per country and one question per fact, split by country")
        {
            cache, output, seed,
        };
        command.SetAction(parse => CommandGuard.Run(() =>
        {
            string dir = parse.GetValue(output)!;
            int s = parse.GetValue(seed);
            var countries = FactbookQa.ReadCountries(new PackageCache(parse.GetValue(cache)!, Log));
            var counts = FactbookQa.Build(countries, dir, s, $"gmsa data qa --cache {parse.GetValue(cache)} --out {dir} --seed {s}");
            foreach (var c in counts)
                Console.WriteLine($"{CorpusSplitter.FileStem(c.Split),-10} {c.Countries,5:N0} countries {c.Items,7:N0} items");
            Log($"wrote {Path.GetFullPath(dir)}");
            return 0;
        }));
        return command;
    }

    public static Command Passkey()
    {
        var corpus = new Option<string>("--corpus") { Description = "corpus folder from `gmsa data prepare` (filler: test split for test, train split for train)", DefaultValueFactory = _ => "data/corpus" };
        var model = new Option<string>("--model") { Description = "model folder whose tokenizer measures lengths", DefaultValueFactory = _ => "models/gmsa-tiny" };
        var output = new Option<string>("--out") { Description = "folder for train.jsonl, test.jsonl, test_lengths.json and README.md", DefaultValueFactory = _ => "data/passkey" };
        var perLength = new Option<int>("--per-length") { Description = "test items per length (256 ... 8192 tokens)", DefaultValueFactory = _ => 20 };
        var trainItems = new Option<int>("--train-items") { Description = "training items", DefaultValueFactory = _ => 2000 };
        var trainMin = new Option<int>("--train-min-tokens") { Description = "shortest training item, in tokens", DefaultValueFactory = _ => PasskeyTask.TrainMinTokens };
        var trainMax = new Option<int>("--train-max-tokens") { Description = "longest training item, in tokens", DefaultValueFactory = _ => PasskeyTask.TrainMaxTokens };
        var seed = SeedOption("keys, depths and filler positions");
        var command = new Command("passkey", "Write passkey retrieval items: a 5-digit key hidden in corpus text, tested at 256 to 8192 tokens")
        {
            corpus, model, output, perLength, trainItems, trainMin, trainMax, seed,
        };
        command.SetAction(parse => CommandGuard.Run(() =>
        {
            var options = new PasskeyBuildOptions
            {
                CorpusDir = parse.GetValue(corpus)!, ModelDir = parse.GetValue(model)!, OutDir = parse.GetValue(output)!,
                PerLength = parse.GetValue(perLength), TrainItems = parse.GetValue(trainItems), Seed = parse.GetValue(seed),
                TrainMinTokens = parse.GetValue(trainMin), TrainMaxTokens = parse.GetValue(trainMax),
            };
            options = options with
            {
                Command = $"gmsa data passkey --corpus {options.CorpusDir} --model {options.ModelDir} --out {options.OutDir} " +
                          $"--per-length {options.PerLength} --train-items {options.TrainItems} " +
                          $"--train-min-tokens {options.TrainMinTokens} --train-max-tokens {options.TrainMaxTokens} --seed {options.Seed}",
            };
            var summary = PasskeyDataset.Build(options, Log);
            foreach (var t in summary.Test)
                Console.WriteLine($"test  {t.TargetTokens,5} tokens {t.Items,5:N0} items (actual {t.MinTokens}-{t.MaxTokens})");
            Console.WriteLine($"train {options.TrainMinTokens}-{options.TrainMaxTokens} tokens {summary.TrainItems,5:N0} items (actual {summary.TrainMinTokens}-{summary.TrainMaxTokens})");
            Log($"wrote {Path.GetFullPath(options.OutDir)}");
            return 0;
        }));
        return command;
    }

    /// <summary>
    /// The held-out sets `gmsa eval` reads, small enough to ship beside a compressor: reconstruction contexts cut from
    /// the test token file, the QA test split, and the first items of each passkey length.
    /// </summary>
    public static Command EvalSets()
    {
        var tokens = new Option<string>("--tokens") { Description = "token files (test.bin is read)", DefaultValueFactory = _ => "data/tokens" };
        var qa = new Option<string>("--qa") { Description = "QA folder (test.jsonl is read)", DefaultValueFactory = _ => "data/qa" };
        var passkey = new Option<string>("--passkey") { Description = "passkey folder (test.jsonl and test_lengths.json are read)", DefaultValueFactory = _ => "data/passkey" };
        var model = new Option<string>("--model") { Description = "model folder whose tokenizer decodes the contexts", DefaultValueFactory = _ => "models/gmsa-tiny" };
        var output = new Option<string>("--out") { Description = "folder for reconstruction.jsonl, qa.jsonl, passkey.jsonl", DefaultValueFactory = _ => "models/gmsa-tiny/compressor/eval" };
        var contexts = new Option<int>("--contexts") { Description = "reconstruction contexts", DefaultValueFactory = _ => 40 };
        var length = new Option<int>("--context-tokens") { Description = "tokens per reconstruction context", DefaultValueFactory = _ => 128 };
        var perLength = new Option<int>("--passkey-per-length") { Description = "passkey items kept per length", DefaultValueFactory = _ => 5 };
        var command = new Command("eval-sets", "Write the held-out evaluation sets `gmsa eval` reads (reconstruction, QA, passkey)")
        {
            tokens, qa, passkey, model, output, contexts, length, perLength,
        };
        command.SetAction(parse => CommandGuard.Run(() =>
        {
            string dir = parse.GetValue(output)!;
            var tokenizer = TextTokenizer.Load(parse.GetValue(model)!);
            int n = parse.GetValue(contexts), size = parse.GetValue(length), keep = parse.GetValue(perLength);
            CorpusEncoder.RequireEncodedBy(parse.GetValue(tokens)!, parse.GetValue(model)!);
            var stream = TokenFile.Read(Path.Combine(parse.GetValue(tokens)!, "test.bin"), tokenizer.VocabSize);
            var segments = new ContextSegments(stream, tokenizer.BosId ?? -1, tokenizer.EosId ?? -1, size, size, seed: 1);
            if (segments.Count < n) throw new InvalidDataException($"the test split holds {segments.Count} contexts of {size} tokens, fewer than {n}");
            // Every k-th segment, so the contexts spread over the whole test split.
            ReconstructionSet.Write(Path.Combine(dir, "reconstruction.jsonl"), Enumerable.Range(0, n).Select(i => tokenizer.Decode(segments[(int)((long)i * segments.Count / n)])));
            var questions = QaJsonl.Read(Path.Combine(parse.GetValue(qa)!, "test.jsonl"));
            QaJsonl.Write(Path.Combine(dir, "qa.jsonl"), questions);
            var keys = QaJsonl.Read(Path.Combine(parse.GetValue(passkey)!, "test.jsonl"));
            var lengths = PasskeyDataset.ReadLengths(Path.Combine(parse.GetValue(passkey)!, PasskeyDataset.LengthsFile));
            var kept = lengths.GroupBy(l => l.TargetTokens).SelectMany(g => g.OrderBy(l => l.Line).Take(keep)).OrderBy(l => l.Line).Select(l => keys[l.Line]).ToList();
            QaJsonl.Write(Path.Combine(dir, "passkey.jsonl"), kept);
            Console.WriteLine($"reconstruction {n} contexts of {size} tokens, qa {questions.Count} questions, passkey {kept.Count} items; wrote {dir}");
            return 0;
        }));
        return command;
    }

    static Option<int> SeedOption(string what) =>
        new("--seed") { Description = $"seed of the {what}", DefaultValueFactory = _ => 1 };

    static void Log(string line) => Console.Error.WriteLine(line);
}
