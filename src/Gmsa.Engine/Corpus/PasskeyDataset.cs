using System.Text;
using System.Text.Json;
using Gmsa.Engine.Compression;
using Gmsa.Engine.Text;

namespace Gmsa.Engine.Corpus;

/// <summary>Settings of `gmsa data passkey`.</summary>
public sealed record PasskeyBuildOptions
{
    public required string CorpusDir { get; init; }
    public required string ModelDir { get; init; }
    public required string OutDir { get; init; }
    public int PerLength { get; init; } = 20;
    public int TrainItems { get; init; } = 2000;
    /// <summary>Training items' lengths, uniform in this range of tokens (by default short ones).</summary>
    public int TrainMinTokens { get; init; } = PasskeyTask.TrainMinTokens;
    public int TrainMaxTokens { get; init; } = PasskeyTask.TrainMaxTokens;
    public int Seed { get; init; } = 1;
    /// <summary>The command line recorded in the README.</summary>
    public string Command { get; init; } = "gmsa data passkey";
}

/// <summary>Test items of one target length: how many, and the actual context tokens they came to.</summary>
public sealed record PasskeyLengthCount(int TargetTokens, int Items, int MinTokens, int MaxTokens);

public sealed record PasskeySummary(int TrainItems, int TrainMinTokens, int TrainMaxTokens, IReadOnlyList<PasskeyLengthCount> Test);

/// <summary>
/// Writes the passkey set: test.jsonl (filler from the corpus's test split, never trained on) at each of
/// <see cref="PasskeyTask.TestLengths"/>, train.jsonl (short items unless asked otherwise, filler from the train split) for
/// teaching the decoder the task, test_lengths.json (per test line: target and actual tokens, depth)
/// and README.md. The JSONL files stay the reference {"input", "prompt", "answer"} format.
/// </summary>
public static class PasskeyDataset
{
    public const string LengthsFile = "test_lengths.json", ReadmeFile = "README.md";

    static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = false, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>One line of <see cref="LengthsFile"/>: the test.jsonl line (from 0) and what its item was built to.</summary>
    public sealed record LengthEntry(int Line, int TargetTokens, int Tokens, double Depth);

    public static PasskeySummary Build(PasskeyBuildOptions options, Action<string>? log = null)
    {
        log ??= _ => { };
        if (options.PerLength < 1 || options.TrainItems < 0 || options.PerLength > 100_000 || options.TrainItems > 1_000_000)
            throw new ArgumentOutOfRangeException(
                $"per-length must be in 1..100000 and train items in 0..1000000 (got {options.PerLength} and {options.TrainItems})", innerException: null);
        if (options.TrainMinTokens < 32 || options.TrainMaxTokens < options.TrainMinTokens || options.TrainMaxTokens > PasskeyTask.TestLengths.Max())
            throw new ArgumentOutOfRangeException(
                $"training lengths must satisfy 32 <= min <= max <= {PasskeyTask.TestLengths.Max()} tokens (got {options.TrainMinTokens}-{options.TrainMaxTokens})", innerException: null);
        var tokenizer = TextTokenizer.Load(options.ModelDir);

        var testFiller = PasskeyTask.Paragraphs(CorpusJsonl.Read(CorpusJsonl.SplitPath(options.CorpusDir, CorpusSplit.Test)));
        var test = PasskeyTask.TestSet(testFiller, tokenizer, options.PerLength, Seed(options.Seed, "test"));
        log($"test     {test.Count,6:N0} items from {testFiller.Count:N0} paragraphs");
        var trainFiller = PasskeyTask.Paragraphs(CorpusJsonl.Read(CorpusJsonl.SplitPath(options.CorpusDir, CorpusSplit.Train)));
        var train = PasskeyTask.TrainSet(trainFiller, tokenizer, options.TrainItems, Seed(options.Seed, "train"), options.TrainMinTokens, options.TrainMaxTokens);
        log($"train    {train.Count,6:N0} items from {trainFiller.Count:N0} paragraphs");

        Directory.CreateDirectory(options.OutDir);
        QaJsonl.Write(Path.Combine(options.OutDir, "test.jsonl"), test.Select(i => i.Qa));
        QaJsonl.Write(Path.Combine(options.OutDir, "train.jsonl"), train.Select(i => i.Qa));
        var lengths = test.Select((item, line) => new LengthEntry(line, item.TargetTokens, item.Tokens, item.Depth)).ToList();
        File.WriteAllText(Path.Combine(options.OutDir, LengthsFile), JsonSerializer.Serialize(lengths, JsonOptions) + "\n");

        var summary = new PasskeySummary(train.Count,
            train.Count == 0 ? 0 : train.Min(i => i.Tokens), train.Count == 0 ? 0 : train.Max(i => i.Tokens),
            test.GroupBy(i => i.TargetTokens).Select(g => new PasskeyLengthCount(g.Key, g.Count(), g.Min(i => i.Tokens), g.Max(i => i.Tokens))).ToList());
        File.WriteAllText(Path.Combine(options.OutDir, ReadmeFile), Readme(summary, options, tokenizer));
        return summary;
    }

    /// <summary>The test.jsonl line entries written by <see cref="Build"/>.</summary>
    public static IReadOnlyList<LengthEntry> ReadLengths(string path) =>
        Checkpoints.JsonFile.Read(path, json => JsonSerializer.Deserialize<List<LengthEntry>>(json, JsonOptions))
        ?? throw new InvalidDataException($"{path} holds no length entries");

    /// <summary>Test and train draw from their own generators, so that neither repeats the other's keys and depths.</summary>
    static int Seed(int seed, string set) => (int)(CorpusSplitter.Position($"passkey/{set}/{seed}") * int.MaxValue);

    static string Readme(PasskeySummary summary, PasskeyBuildOptions options, TextTokenizer tokenizer)
    {
        var sb = new StringBuilder();
        sb.AppendLine("# Passkey retrieval");
        sb.AppendLine();
        sb.AppendLine("Find a 5-digit key hidden in natural text (Mohtashami and Jaggi, 2023, over corpus paragraphs instead of a repeated");
        sb.AppendLine("\"The grass is green\" filler): a long-context check for GMSA's compressor at growing context lengths.");
        sb.AppendLine();
        sb.AppendLine($"Built by `{options.Command}` with the tokenizer of `{options.ModelDir}` ({tokenizer.Kind}, {tokenizer.VocabSize:N0} ids), seed {options.Seed}.");
        sb.AppendLine();
        sb.AppendLine("| file | filler | items | context tokens |");
        sb.AppendLine("|---|---|---:|---|");
        foreach (var t in summary.Test)
            sb.AppendLine($"| test.jsonl | corpus test split | {t.Items} | target {t.TargetTokens}: {t.MinTokens}-{t.MaxTokens} |");
        sb.AppendLine($"| train.jsonl | corpus train split | {summary.TrainItems} | target uniform in {options.TrainMinTokens}-{options.TrainMaxTokens}: {summary.TrainMinTokens}-{summary.TrainMaxTokens} |");
        sb.AppendLine();
        sb.AppendLine("## Format");
        sb.AppendLine();
        sb.AppendLine("One `{\"input\", \"prompt\", \"answer\"}` object per line (the reference GMSA code's QA JSONL). `input` is the filler with");
        sb.AppendLine($"`{PasskeyTask.Needle("NNNNN")}` as its own paragraph; `prompt` is `\"{PasskeyTask.Prompt}\"`; `answer` is the key.");
        sb.AppendLine($"`{LengthsFile}` holds one `{{\"line\", \"target_tokens\", \"tokens\", \"depth\"}}` per test.jsonl line (from 0): the target");
        sb.AppendLine("length, the context's actual tokens (no BOS), and where the key starts as a fraction of the filler (0 first, 1 last).");
        sb.AppendLine();
        sb.AppendLine("## Construction");
        sb.AppendLine();
        sb.AppendLine("- Filler: consecutive paragraphs from a random paragraph of the split's documents, in file order (wrapping at the end);");
        sb.AppendLine($"  sources {string.Join(", ", PasskeyTask.ExcludedSources)} left out (one long run of dictionary glosses, not running text).");
        sb.AppendLine("- Length: the run of consecutive sentences whose tokens come nearest the target, starting at one of the first 48");
        sb.AppendLine("  sentences from that paragraph (at a paragraph start when one comes within 2 tokens), cut at a sentence end; counted");
        sb.AppendLine("  per sentence, then measured on the whole context and aimed once more when off by more than 2 tokens.");
        sb.AppendLine("- Key: uniform in 10000-99999, redrawn if the filler already holds it; depth uniform in [0, 1), rounded to the nearest");
        sb.AppendLine("  sentence boundary; the key sentence is a paragraph of its own there (a long paragraph is split around it).");
        sb.AppendLine("- Test items come in length order, `--per-length` per length; train and test draw from separate seeded generators.");
        return sb.ToString();
    }
}
