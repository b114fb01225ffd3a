namespace Gmsa.Engine.Corpus;

/// <summary>Where `gmsa data prepare` puts a Factbook document.</summary>
public enum FactbookSplit
{
    /// <summary>In its country's split of Factbook QA (<see cref="FactbookQa.SplitOf"/>): no held-out country is pretrained on.</summary>
    Country,
    /// <summary>By the hash of its id, as every other document: how the corpus of the shipped gmsa-tiny was split.</summary>
    Document,
}

/// <summary>Settings of `gmsa data prepare`.</summary>
public sealed record CorpusBuildOptions
{
    public required string CacheDir { get; init; }
    public required string OutDir { get; init; }
    /// <summary>
    /// 2% of documents each: at 1% the ~5M-word corpus gave validation 33k words, under the 50k wanted
    /// for a steady loss estimate; 2% gives 77k and 131k.
    /// </summary>
    public const double DefaultHeldOutFraction = 0.02;

    public double ValidationFraction { get; init; } = DefaultHeldOutFraction;
    public double TestFraction { get; init; } = DefaultHeldOutFraction;
    /// <summary>Validation and test each want at least this many words for a steady loss estimate; fewer is warned about.</summary>
    public long MinHeldOutWords { get; init; } = 50_000;
    public FactbookSplit FactbookSplit { get; init; } = FactbookSplit.Country;
    /// <summary>The command line recorded in the data card.</summary>
    public string Command { get; init; } = "gmsa data prepare";
}

/// <summary>
/// Builds the corpus: loads every source through the package cache, splits documents by id hash,
/// and writes {train,validation,test}.jsonl and DATA_CARD.md into the output folder.
/// </summary>
public static class CorpusBuilder
{
    public const string DataCardFile = "DATA_CARD.md";

    public static CorpusStatistics Build(CorpusBuildOptions options, Action<string>? log = null) =>
        Build(CorpusSources.All, new PackageCache(options.CacheDir, log), options, log);

    public static CorpusStatistics Build(IReadOnlyList<CorpusSource> sources, PackageCache cache, CorpusBuildOptions options, Action<string>? log = null)
    {
        log ??= _ => { };
        var splitter = new CorpusSplitter(options.ValidationFraction, options.TestFraction);
        var stats = new CorpusStatistics();
        var splits = CorpusSplitter.Splits.ToDictionary(s => s, _ => new List<CorpusDocument>());
        var ids = new HashSet<string>(StringComparer.Ordinal);

        foreach (CorpusSource source in sources)
        {
            IReadOnlyList<CorpusDocument> documents = source.Load(cache);
            long sourceWords = 0;
            int kept = 0;
            foreach (CorpusDocument d in documents)
            {
                long words = TextCleanup.CountWords(d.Text);
                if (words == 0) continue;
                if (!ids.Add(d.Id)) throw new InvalidOperationException($"two documents share the id {d.Id}: ids must be unique for the split to be stable");
                CorpusSplit split = SplitOf(d, splitter, options.FactbookSplit);
                splits[split].Add(d);
                stats.Add(source.Key, split, words);
                sourceWords += words;
                kept++;
            }
            log($"{source.Key,-9} {kept,6:N0} documents {sourceWords,11:N0} words");
        }

        Directory.CreateDirectory(options.OutDir);
        foreach (var (split, documents) in splits)
            CorpusJsonl.Write(CorpusJsonl.SplitPath(options.OutDir, split), documents);
        File.WriteAllText(Path.Combine(options.OutDir, DataCardFile),
            DataCard.Render(sources, stats, splitter, options.Command, options.MinHeldOutWords, options.FactbookSplit));

        foreach (CorpusSplit held in new[] { CorpusSplit.Validation, CorpusSplit.Test })
            if (stats.Total(held).Words < options.MinHeldOutWords)
                log($"warning: {CorpusSplitter.FileStem(held)} holds {stats.Total(held).Words:N0} words, under {options.MinHeldOutWords:N0}; raise its fraction");
        return stats;
    }

    /// <summary>
    /// A Factbook document (id <c>factbook/{code}</c>) follows its country's QA split when asked: the QA test questions
    /// are about countries whose Factbook pages would otherwise sit in the training split, where the base model and
    /// stage 1 read them (their capitals and languages verbatim). Every other document goes by the hash of its id.
    /// </summary>
    public static CorpusSplit SplitOf(CorpusDocument document, CorpusSplitter splitter, FactbookSplit factbook) =>
        factbook == FactbookSplit.Country && document.Id.StartsWith(FactbookReader.Source + "/", StringComparison.Ordinal)
            ? FactbookQa.SplitOf(document.Id[(FactbookReader.Source.Length + 1)..])
            : splitter.Assign(document.Id);
}
