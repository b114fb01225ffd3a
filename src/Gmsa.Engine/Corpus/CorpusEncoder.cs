using System.Diagnostics;
using System.Text.Json;
using Gmsa.Engine.Text;
using Gmsa.Engine.Training;

namespace Gmsa.Engine.Corpus;

/// <summary>One split's token file, as summary.json lists it.</summary>
public sealed record SplitTokens(string Name, string File, int Documents, long Tokens);

/// <summary>data/tokens/summary.json: which tokenizer made the files and how many tokens each holds.</summary>
public sealed record TokenSummary(string TokenizerModelSha256, int VocabSize, int BosId, int EosId, IReadOnlyList<SplitTokens> Splits);

/// <summary>
/// `gmsa data encode`: each split's documents as one stream [BOS] doc1 [EOS] [BOS] doc2 [EOS] ..., written
/// with <see cref="TokenFile"/>. Documents are tokenized in parallel, one tokenizer per worker (the
/// tokenizer's caches are not meant to be shared across threads), and concatenated in file order so the
/// output is the same whatever the thread count.
/// </summary>
public static class CorpusEncoder
{
    public const string SummaryFile = "summary.json";

    public static TokenSummary Encode(string corpusDir, string tokenizerDir, string outDir, Action<string>? log = null, int workers = 0)
    {
        log ??= _ => { };
        foreach (CorpusSplit split in CorpusSplitter.Splits)
            if (!File.Exists(CorpusJsonl.SplitPath(corpusDir, split)))
                throw new FileNotFoundException($"{CorpusJsonl.SplitPath(corpusDir, split)} not found: run `gmsa data prepare` first");
        TextTokenizer tokenizer = TextTokenizer.Load(tokenizerDir);
        if (tokenizer.BosId is not int bos || tokenizer.EosId is not int eos)
            throw new InvalidDataException($"tokenizer in {tokenizerDir} has no BOS or EOS token; token files frame documents with both");
        if (tokenizer.VocabSize > ushort.MaxValue + 1)
            throw new InvalidDataException($"tokenizer vocab {tokenizer.VocabSize} does not fit the uint16 ids of token files");

        Directory.CreateDirectory(outDir);
        var splits = new List<SplitTokens>();
        foreach (CorpusSplit split in CorpusSplitter.Splits)
        {
            var timer = Stopwatch.StartNew();
            List<string> texts = CorpusJsonl.Read(CorpusJsonl.SplitPath(corpusDir, split)).Select(d => d.Text).ToList();
            ushort[] ids = EncodeDocuments(texts, () => TextTokenizer.Load(tokenizerDir), workers);
            string file = CorpusSplitter.FileStem(split) + ".bin";
            TokenFile.Write(Path.Combine(outDir, file), ids, tokenizer.VocabSize);
            splits.Add(new SplitTokens(CorpusSplitter.FileStem(split), file, texts.Count, ids.LongLength));
            log($"{file}: {texts.Count:N0} documents, {ids.LongLength:N0} tokens in {timer.Elapsed.TotalSeconds:F1} s");
        }

        var summary = new TokenSummary(PackageCache.Sha256Of(Path.Combine(tokenizerDir, SentencePieceTrainer.ModelFile)), tokenizer.VocabSize, bos, eos, splits);
        var json = new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
        File.WriteAllText(Path.Combine(outDir, SummaryFile), JsonSerializer.Serialize(summary, json) + "\n");
        return summary;
    }

    /// <summary>
    /// Refuses token files that another tokenizer wrote: a model reading them would take every id for another token and
    /// still train to a plausible loss. Compares the tokenizer.model hash that <see cref="Encode"/> recorded in
    /// summary.json with <paramref name="tokenizerDir"/>'s; files with no summary (written by hand) are not checked.
    /// </summary>
    /// <param name="tokens">the token folder, or a token file in it</param>
    public static void RequireEncodedBy(string tokens, string tokenizerDir)
    {
        string folder = Directory.Exists(tokens) ? tokens : Path.GetDirectoryName(Path.GetFullPath(tokens))!;
        string summaryPath = Path.Combine(folder, SummaryFile);
        if (!File.Exists(summaryPath)) return;
        string? recorded;
        try { recorded = JsonDocument.Parse(File.ReadAllText(summaryPath)).RootElement.GetProperty("tokenizer_model_sha256").GetString(); }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new InvalidDataException($"{summaryPath} is not a token summary of `gmsa data encode`: {e.Message}");
        }
        string model = Path.Combine(tokenizerDir, SentencePieceTrainer.ModelFile);
        string? actual = File.Exists(model) ? PackageCache.Sha256Of(model) : null;
        if (string.Equals(actual, recorded, StringComparison.OrdinalIgnoreCase)) return;
        string theirs = actual is null ? $"{tokenizerDir} has no {SentencePieceTrainer.ModelFile}" : $"{tokenizerDir}'s is {actual[..12]}...";
        throw new InvalidDataException(
            $"{folder} was encoded by another tokenizer (its {SentencePieceTrainer.ModelFile} SHA-256 {recorded?[..Math.Min(12, recorded.Length)]}...; {theirs}), " +
            $"so its ids would be read as other tokens: encode the corpus with this one, `gmsa data encode --tokenizer {tokenizerDir} --out DIR`");
    }

    /// <summary>[BOS] tokens [EOS] per text, concatenated in order.</summary>
    /// <param name="createTokenizer">makes one tokenizer per worker</param>
    /// <param name="workers">threads; 0 = one per core</param>
    public static ushort[] EncodeDocuments(IReadOnlyList<string> texts, Func<TextTokenizer> createTokenizer, int workers = 0)
    {
        workers = Math.Clamp(workers > 0 ? workers : Environment.ProcessorCount, 1, Math.Max(1, texts.Count));
        var encoded = new IReadOnlyList<int>[texts.Count];
        int next = -1;
        var first = createTokenizer();
        int bos = first.BosId ?? throw new InvalidDataException("the tokenizer has no BOS token");
        int eos = first.EosId ?? throw new InvalidDataException("the tokenizer has no EOS token");
        Parallel.For(0, workers, new ParallelOptions { MaxDegreeOfParallelism = workers }, worker =>
        {
            TextTokenizer tokenizer = worker == 0 ? first : createTokenizer();
            for (int i = Interlocked.Increment(ref next); i < texts.Count; i = Interlocked.Increment(ref next))
                encoded[i] = tokenizer.Encode(texts[i], addBos: false);
        });

        var ids = new ushort[encoded.Sum(e => (long)e.Count + 2)];
        long at = 0;
        foreach (IReadOnlyList<int> document in encoded)
        {
            ids[at++] = checked((ushort)bos);
            foreach (int id in document) ids[at++] = checked((ushort)id);
            ids[at++] = checked((ushort)eos);
        }
        return ids;
    }
}
