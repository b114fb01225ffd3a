using System.Globalization;
using System.Text;

namespace Gmsa.Engine.Corpus;

/// <summary>
/// DATA_CARD.md beside the splits: what each source is, the exact package and archive hash it came
/// from, its licence, how it was cleaned, and documents and words per source and split. No date or
/// host in it, so that re-running the same command rewrites the same file.
/// </summary>
public static class DataCard
{
    public static string Render(IReadOnlyList<CorpusSource> sources, CorpusStatistics stats, CorpusSplitter splitter, string command,
        long minHeldOutWords, FactbookSplit factbook = FactbookSplit.Country)
    {
        var md = new StringBuilder();
        md.AppendLine("# Corpus data card").AppendLine();
        md.AppendLine("An English training corpus built only from public-domain or permissively licensed text, each source taken " +
                      "from a package at a pinned version whose archive is checked against the SHA-256 below.").AppendLine();
        md.AppendLine($"Produced by: `{command}`").AppendLine();
        md.AppendLine("Files: `train.jsonl`, `validation.jsonl`, `test.jsonl`, one JSON object per line: " +
                      "`{\"id\", \"source\", \"title\", \"text\"}`. Text is NFC, whitespace collapsed to single spaces, " +
                      "paragraphs separated by a blank line (WordNet: one gloss per line). Words are whitespace-separated tokens.").AppendLine();
        md.AppendLine($"Splits are by document: SHA-256 of the document id, its first 8 bytes (big-endian, top 53 bits) as a fraction u in [0, 1); u < {F(splitter.ValidationFraction)} " +
                      $"is validation, u < {F(splitter.ValidationFraction + splitter.TestFraction)} test, the rest train. " +
                      "The same id always lands in the same split." +
                      (factbook == FactbookSplit.Country
                          ? " Except Factbook documents (`factbook/{code}`): each is in its country's split of Factbook QA (`gmsa data qa`, 10 % " +
                            "validation, 10 % test by the hash of the country code), so the countries QA is evaluated on are not in the training split."
                          : " Factbook documents too (`--factbook-split document`): the QA test countries' pages may be in the training split.")).AppendLine();

        md.AppendLine("## Sources").AppendLine();
        md.AppendLine("| source | what | package | licence | documents | words |");
        md.AppendLine("| --- | --- | --- | --- | ---: | ---: |");
        foreach (CorpusSource s in sources)
        {
            var total = stats.Total(s.Key);
            md.AppendLine($"| {s.Key} | {s.Name} | {string.Join("; ", s.Packages.Select(p => p.Display))} | {s.Licence} | {N(total.Documents)} | {N(total.Words)} |");
        }
        var all = stats.Total();
        md.AppendLine($"| **total** | | | | {N(all.Documents)} | {N(all.Words)} |").AppendLine();

        md.AppendLine("## Documents and words per split").AppendLine();
        md.AppendLine("| source | " + string.Join(" | ", CorpusSplitter.Splits.Select(sp => $"{CorpusSplitter.FileStem(sp)} docs | {CorpusSplitter.FileStem(sp)} words")) + " |");
        md.AppendLine("| --- |" + string.Concat(CorpusSplitter.Splits.Select(_ => " ---: | ---: |")));
        foreach (CorpusSource s in sources)
            md.AppendLine($"| {s.Key} | " + string.Join(" | ", CorpusSplitter.Splits.Select(sp => Cells(stats.Get(s.Key, sp)))) + " |");
        md.AppendLine("| **total** | " + string.Join(" | ", CorpusSplitter.Splits.Select(sp => Cells(stats.Total(sp)))) + " |").AppendLine();
        foreach (CorpusSplit held in new[] { CorpusSplit.Validation, CorpusSplit.Test })
            if (stats.Total(held).Words < minHeldOutWords)
                md.AppendLine($"Warning: {CorpusSplitter.FileStem(held)} holds {N(stats.Total(held).Words)} words, under the {N(minHeldOutWords)} wanted; raise its fraction.").AppendLine();

        md.AppendLine("## Cleaning").AppendLine();
        foreach (CorpusSource s in sources) md.AppendLine($"- **{s.Key}**: {s.Cleaning}.");
        md.AppendLine();

        md.AppendLine("## Archives").AppendLine();
        md.AppendLine("| package | file | sha256 |");
        md.AppendLine("| --- | --- | --- |");
        foreach (PinnedPackage p in sources.SelectMany(s => s.Packages))
            md.AppendLine($"| {p.Display} | `{p.FileName}` | `{p.Sha256}` |");
        return md.ToString();
    }

    static string Cells(CorpusStatistics.Count c) => $"{N(c.Documents)} | {N(c.Words)}";
    static string N(long n) => n.ToString("N0", CultureInfo.InvariantCulture);
    static string F(double x) => x.ToString("0.####", CultureInfo.InvariantCulture);
}
