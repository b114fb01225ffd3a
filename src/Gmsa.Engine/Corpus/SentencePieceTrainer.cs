using System.Diagnostics;
using System.Globalization;
using System.Text;
using Gmsa.Engine.Text;

namespace Gmsa.Engine.Corpus;

/// <summary>Settings of `gmsa data tokenizer`.</summary>
public sealed record TokenizerTrainingOptions
{
    public required string CorpusDir { get; init; }
    public required string OutDir { get; init; }
    public int VocabSize { get; init; } = 8192;
    /// <summary>model_max_length in tokenizer_config.json: informational, the model config decides the context.</summary>
    public int ModelMaxLength { get; init; } = 2048;
    /// <summary>Validation lines whose ids are compared with spm_encode's after training.</summary>
    public int CheckLines { get; init; } = 2000;
}

public sealed record TokenizerReport(int VocabSize, long TrainingLines, TimeSpan TrainingTime, SpmComparison Check);

/// <summary>How many of <see cref="Lines"/> sample lines got other ids from TextTokenizer than from spm_encode, and the first such.</summary>
public sealed record SpmComparison(int Lines, int Differing, string? FirstDifference);

/// <summary>
/// Trains a LLaMA-style SentencePiece BPE tokenizer with Debian's spm_train on the train split, one
/// paragraph per line, and writes tokenizer.model plus a tokenizer_config.json, so that
/// <see cref="TextTokenizer.Load"/> (Microsoft.ML.Tokenizers underneath) reads it like LLaMA-2's.
/// The flags are the ones under which that library's ids equal spm_encode's: identity normalization
/// (it rejects nmt_nfkc), byte fallback, unk/bos/eos = 0/1/2 and no pad. Then it compares the two
/// on validation text with spm_encode itself (see <see cref="CompareWithSpmEncode"/>).
/// </summary>
public static class SentencePieceTrainer
{
    public const string Package = "the Debian package sentencepiece (apt-get install sentencepiece)";
    public const string ModelFile = "tokenizer.model";

    public static TokenizerReport Train(TokenizerTrainingOptions options, Action<string>? log = null)
    {
        log ??= _ => { };
        ExternalTool.Require("spm_train", Package);
        ExternalTool.Require("spm_encode", Package);
        string trainPath = CorpusJsonl.SplitPath(options.CorpusDir, CorpusSplit.Train);
        if (!File.Exists(trainPath)) throw new FileNotFoundException($"{trainPath} not found: run `gmsa data prepare` first");
        if (options.VocabSize is < 300 or > ushort.MaxValue + 1)
            throw new ArgumentOutOfRangeException($"vocab size {options.VocabSize} must be in [300, 65536] (byte fallback takes 256 ids; token files hold uint16)", innerException: null);

        Directory.CreateDirectory(options.OutDir);
        string input = Path.Combine(options.OutDir, "spm_input.txt.tmp");
        var timer = Stopwatch.StartNew();
        long lines;
        try
        {
            (lines, int longest) = WriteLines(CorpusJsonl.Read(trainPath), input);
            if (lines == 0) throw new InvalidDataException($"{trainPath} holds no text");
            log($"spm_train on {lines:N0} lines, vocab {options.VocabSize}");
            ExternalTool.Run("spm_train", TrainerArguments(input, Path.Combine(options.OutDir, "tokenizer"), options.VocabSize, longest), provider: Package);
        }
        finally
        {
            File.Delete(input);
        }
        timer.Stop();
        TokenizerConfig.WriteLlama(options.OutDir, options.ModelMaxLength);

        string validationPath = CorpusJsonl.SplitPath(options.CorpusDir, CorpusSplit.Validation);
        var sample = ParagraphLines(CorpusJsonl.Read(File.Exists(validationPath) ? validationPath : trainPath)).Take(options.CheckLines).ToList();
        SpmComparison check = CompareWithSpmEncode(options.OutDir, sample);
        return new TokenizerReport(TextTokenizer.Load(options.OutDir).VocabSize, lines, timer.Elapsed, check);
    }

    /// <summary>
    /// spm_train's flags. Every sentence is used (no sampling, no shuffle) so that the same corpus gives
    /// the same model; digits are split and whitespace-only pieces allowed, as LLaMA does.
    /// </summary>
    public static IReadOnlyList<string> TrainerArguments(string input, string modelPrefix, int vocabSize, int longestLineBytes) =>
    [
        $"--input={input}", $"--model_prefix={modelPrefix}", $"--vocab_size={vocabSize.ToString(CultureInfo.InvariantCulture)}",
        "--model_type=bpe", "--normalization_rule_name=identity", "--remove_extra_whitespaces=false", "--add_dummy_prefix=true",
        "--byte_fallback=true", "--character_coverage=1.0", "--split_digits=true", "--allow_whitespace_only_pieces=true",
        "--unk_id=0", "--bos_id=1", "--eos_id=2", "--pad_id=-1",
        "--input_sentence_size=0", "--shuffle_input_sentence=false",
        $"--max_sentence_length={Math.Max(4192, longestLineBytes + 1).ToString(CultureInfo.InvariantCulture)}",
        "--num_threads=2", "--minloglevel=1",
    ];

    /// <summary>
    /// Encodes <paramref name="lines"/> with spm_encode and with <see cref="TextTokenizer"/> and counts the
    /// lines whose ids differ. Microsoft.ML.Tokenizers 2.0.1 breaks ties between equal-score merges
    /// differently from SentencePiece where the same pair overlaps ("XIII": spm "▁X II I", ours "▁X I II"),
    /// so a few lines with runs of one letter differ; both decode to the same text.
    /// </summary>
    public static SpmComparison CompareWithSpmEncode(string tokenizerDir, IReadOnlyList<string> lines)
    {
        if (lines.Count == 0) return new SpmComparison(0, 0, null);
        string model = Path.Combine(tokenizerDir, ModelFile);
        string input = Path.Combine(tokenizerDir, "spm_check.txt.tmp");
        string output;
        try
        {
            File.WriteAllText(input, string.Join("\n", lines) + "\n", new UTF8Encoding(false));
            output = ExternalTool.Run("spm_encode", [$"--model={model}", "--output_format=id", input], provider: Package);
        }
        finally
        {
            File.Delete(input);
        }
        string[] expected = output.Split('\n');
        TextTokenizer tokenizer = TextTokenizer.Load(tokenizerDir);
        int differing = 0;
        string? first = null;
        for (int i = 0; i < lines.Count; i++)
        {
            string ours = string.Join(' ', tokenizer.Encode(lines[i], addBos: false));
            string theirs = i < expected.Length ? expected[i].Trim() : "";
            if (ours == theirs) continue;
            differing++;
            first ??= $"line {i + 1} \"{Shorten(lines[i])}\": ours [{Shorten(ours)}], spm_encode [{Shorten(theirs)}]";
        }
        return new SpmComparison(lines.Count, differing, first);
    }

    /// <summary>Each non-empty line of each document: SentencePiece trains on lines ("sentences"), so paragraphs become lines.</summary>
    public static IEnumerable<string> ParagraphLines(IEnumerable<CorpusDocument> documents) =>
        documents.SelectMany(d => d.Text.Split('\n')).Where(l => l.Length > 0);

    static (long Lines, int LongestBytes) WriteLines(IEnumerable<CorpusDocument> documents, string path)
    {
        long lines = 0;
        int longest = 0;
        using var writer = new StreamWriter(path, append: false, new UTF8Encoding(false)) { NewLine = "\n" };
        foreach (string line in ParagraphLines(documents))
        {
            writer.WriteLine(line);
            lines++;
            longest = Math.Max(longest, Encoding.UTF8.GetByteCount(line));
        }
        return (lines, longest);
    }

    static string Shorten(string s) => s.Length <= 80 ? s : s[..77] + "...";
}
