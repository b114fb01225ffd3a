using System.CommandLine;
using Gmsa.Engine.Corpus;

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
        var trainItems = new Option<int>("--train-items") { Description = $"training items of {PasskeyTask.TrainMinTokens}-{PasskeyTask.TrainMaxTokens} tokens", DefaultValueFactory = _ => 2000 };
        var seed = SeedOption("keys, depths and filler positions");
        var command = new Command("passkey", "Write passkey retrieval items: a 5-digit key hidden in corpus text, tested at 256 to 8192 tokens")
        {
            corpus, model, output, perLength, trainItems, seed,
        };
        command.SetAction(parse => CommandGuard.Run(() =>
        {
            var options = new PasskeyBuildOptions
            {
                CorpusDir = parse.GetValue(corpus)!, ModelDir = parse.GetValue(model)!, OutDir = parse.GetValue(output)!,
                PerLength = parse.GetValue(perLength), TrainItems = parse.GetValue(trainItems), Seed = parse.GetValue(seed),
            };
            options = options with
            {
                Command = $"gmsa data passkey --corpus {options.CorpusDir} --model {options.ModelDir} --out {options.OutDir} " +
                          $"--per-length {options.PerLength} --train-items {options.TrainItems} --seed {options.Seed}",
            };
            var summary = PasskeyDataset.Build(options, Log);
            foreach (var t in summary.Test)
                Console.WriteLine($"test  {t.TargetTokens,5} tokens {t.Items,5:N0} items (actual {t.MinTokens}-{t.MaxTokens})");
            Console.WriteLine($"train {PasskeyTask.TrainMinTokens}-{PasskeyTask.TrainMaxTokens} tokens {summary.TrainItems,5:N0} items (actual {summary.TrainMinTokens}-{summary.TrainMaxTokens})");
            Log($"wrote {Path.GetFullPath(options.OutDir)}");
            return 0;
        }));
        return command;
    }

    static Option<int> SeedOption(string what) =>
        new("--seed") { Description = $"seed of the {what}", DefaultValueFactory = _ => 1 };

    static void Log(string line) => Console.Error.WriteLine(line);
}
