using System.CommandLine;
using Gmsa.Cli.Plots;
using Gmsa.Engine.Compression;
using Gmsa.Engine.Evaluation;

namespace Gmsa.Cli.Commands;

/// <summary>
/// `gmsa eval`: reconstruction, QA and passkey figures of a compressor on held-out sets, as a Markdown table,
/// JSON rows (--output) and a quality-against-rate plot (--plot). `--compare` evaluates the shipped compressor
/// and every baseline (MODEL/baselines/* or --baselines DIR/*) with the decoder's full-context and closed-book rows.
/// </summary>
internal static class EvalCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "base model folder", DefaultValueFactory = _ => "models/gmsa-tiny" };
        var compressor = new Option<string?>("--compressor") { Description = "compressor folder (default: MODEL/compressor)" };
        var method = new Option<string>("--method") { Description = "the method's name in the report", DefaultValueFactory = _ => "gmsa" };
        var compare = new Option<bool>("--compare") { Description = "the shipped compressor, the baselines in MODEL/baselines/, full-context and closed-book rows" };
        var baselineDir = new Option<string?>("--baselines") { Description = "with --compare: the folder whose compressor subfolders are the baselines (default: MODEL/baselines)" };
        var tasks = new Option<string[]>("--task") { Description = "reconstruction, qa, passkey (default: every task whose set exists)", AllowMultipleArgumentsPerToken = true };
        var rates = new Option<int[]>("--rates")
        {
            Description = "rates for reconstruction; given, also for qa and passkey (default there: the compressor's trained rates)",
            AllowMultipleArgumentsPerToken = true, DefaultValueFactory = _ => [2, 4, 8, 16, 32],
        };
        var sets = new Option<string?>("--sets") { Description = "folder with reconstruction.jsonl, qa.jsonl, passkey.jsonl (default: MODEL/compressor/eval)" };
        var samples = new Option<int?>("--samples") { Description = "at most this many samples per task (default: all)" };
        var output = new Option<string?>("--output") { Description = "write the rows as JSON here" };
        var predictions = new Option<string?>("--predictions") { Description = "write every scored sample (expected, predicted, its scores) as JSON Lines here" };
        var plot = new Option<string?>("--plot") { Description = "write the reconstruction BLEU-against-rate plot (PNG) here" };
        var penalty = new Option<double>("--repetition-penalty")
        {
            Description = "greedy decoding's repetition penalty: 1 = plain greedy (the default, as every committed figure); GMSA's official decoding uses 1.3",
            DefaultValueFactory = _ => 1.0,
        };
        var device = new DeviceOptions();
        var command = new Command("eval", "Evaluate compressors: reconstruction BLEU/ROUGE-L/prefix match, QA EM/F1, passkey accuracy")
        {
            model, compressor, method, compare, baselineDir, tasks, rates, sets, samples, output, predictions, plot, penalty,
        };
        device.AddTo(command);
        command.SetAction(parse => CommandGuard.Run(() =>
        {
            string modelDir = parse.GetValue(model)!;
            string shipped = parse.GetValue(compressor) ?? Path.Combine(modelDir, GmsaModel.DefaultCompressorFolder);
            string setDir = parse.GetValue(sets) ?? Path.Combine(modelDir, GmsaModel.DefaultCompressorFolder, "eval");
            var chosen = parse.GetValue(tasks) is { Length: > 0 } t ? t : ["reconstruction", "qa", "passkey"];
            foreach (var task in chosen)
                if (task is not ("reconstruction" or "qa" or "passkey")) throw new ArgumentException($"unknown task '{task}' (reconstruction, qa, passkey)");
            if (!(parse.GetValue(penalty) > 0)) throw new ArgumentException($"--repetition-penalty must be > 0, got {parse.GetValue(penalty)}");
            foreach (var rate in parse.GetValue(rates)!)
                if (rate < 1) throw new ArgumentException($"--rates must be >= 1, got {rate}");
            bool ratesGiven = parse.GetResult(rates) is { Implicit: false };
            // The files are written after every task has run: a missing folder is found now, not minutes later.
            foreach (var file in new[] { parse.GetValue(output), parse.GetValue(predictions), parse.GetValue(plot) }) CommandPaths.RequireOutputFolder(file);
            int? limit = parse.GetValue(samples);
            IReadOnlyList<T> Take<T>(IReadOnlyList<T> items) => limit is { } n ? items.Take(n).ToArray() : items;
            string Set(string name) => Path.Combine(setDir, name);
            bool Has(string task, string file) => chosen.Contains(task) && File.Exists(Set(file));

            var methods = new List<(string Name, string Folder)> { (parse.GetValue(method)!, shipped) };
            string? given = parse.GetValue(baselineDir);
            if (given is not null && !Directory.Exists(given)) throw new DirectoryNotFoundException($"no baselines folder {given}");
            string baselines = given ?? Path.Combine(modelDir, "baselines");
            if (parse.GetValue(compare) && Directory.Exists(baselines))
                methods.AddRange(Directory.GetDirectories(baselines).Order().Where(CompressorFolder.Exists).Select(d => (Path.GetFileName(d), d)));

            var rows = new List<EvalRow>();
            var samplesScored = new List<EvalPrediction>();
            void Report(EvalRow row)
            {
                rows.Add(row);
                Console.Error.WriteLine($"{row.Method} {row.Task}{(row.Rate is { } r ? $" {r}x" : "")}{(row.ContextTokens is { } l ? $" {l} tokens" : "")}: " +
                    string.Join(", ", row.Metrics.Select(m => $"{m.Key} {m.Value:F3}")));
            }
            for (int m = 0; m < methods.Count; m++)
            {
                using var gmsa = GmsaModel.Load(modelDir, methods[m].Folder, device.ParseDevice(parse), device.ParseDtype(parse));
                var evaluator = new CompressionEvaluator(gmsa, methods[m].Name) { RepetitionPenalty = parse.GetValue(penalty) };
                // QA and passkey run at the trained rates unless --rates was given; a full-context reference (method none) reads at its own.
                var answerRates = ratesGiven && gmsa.Config.Method != CompressionMethod.None ? parse.GetValue(rates)! : gmsa.Config.Rates;
                bool references = m == 0 && parse.GetValue(compare); // the decoder's own rows, once
                if (Has("reconstruction", "reconstruction.jsonl"))
                {
                    var texts = Take(ReconstructionSet.Read(Set("reconstruction.jsonl")));
                    foreach (var rate in parse.GetValue(rates)!) Report(evaluator.ReconstructionAsync(texts, rate).GetAwaiter().GetResult());
                    if (references) Report(evaluator.CopyFromFullContextAsync(texts).GetAwaiter().GetResult());
                }
                if (Has("qa", "qa.jsonl"))
                {
                    var items = Take(QaJsonl.Read(Set("qa.jsonl")));
                    foreach (var rate in answerRates) Report(evaluator.QuestionsAsync(items, rate).GetAwaiter().GetResult());
                    if (references)
                    {
                        Report(evaluator.QuestionsAsync(items, null).GetAwaiter().GetResult());
                        Report(evaluator.QuestionsAsync(items, null, closedBook: true).GetAwaiter().GetResult());
                    }
                }
                if (Has("passkey", "passkey.jsonl"))
                {
                    var items = Take(QaJsonl.Read(Set("passkey.jsonl")));
                    foreach (var rate in answerRates)
                        foreach (var row in evaluator.PasskeyAsync(items, rate).GetAwaiter().GetResult()) Report(row);
                    if (references)
                        foreach (var row in evaluator.PasskeyAsync(items, null).GetAwaiter().GetResult()) Report(row);
                }
                samplesScored.AddRange(evaluator.Predictions);
            }
            if (rows.Count == 0) throw new FileNotFoundException($"no evaluation set found in {setDir} (reconstruction.jsonl, qa.jsonl, passkey.jsonl)");
            Console.WriteLine($"Greedy decoding, repetition penalty {parse.GetValue(penalty)}.\n");
            Console.WriteLine(EvalRow.Markdown(rows));
            if (parse.GetValue(output) is { } json) EvalRow.WriteJson(json, rows);
            if (parse.GetValue(predictions) is { } jsonl) EvalPrediction.WriteJsonl(jsonl, samplesScored);
            if (parse.GetValue(plot) is { } png) RatePlot.Render(rows, "reconstruction", "bleu", png);
            return 0;
        }));
        return command;
    }
}
