using System.Text;
using System.Text.Json;
using Gmsa.Engine.Compression;

namespace Gmsa.Engine.Corpus;

/// <summary>A country's profile paragraph and the facts it states, each answerable from the paragraph alone.</summary>
public sealed record CountryProfile(string Code, string Name, string Text, IReadOnlyList<CountryFact> Facts);

/// <summary>Countries and QA items written to one split.</summary>
public sealed record QaSplitCount(CorpusSplit Split, int Countries, int Items);

/// <summary>
/// GMSA's Factbook QA set: per country a short profile paragraph (the context to compress) built from
/// <see cref="FactbookFacts"/> in a seeded shuffled order, and one question per fact it states, whose
/// gold answers appear verbatim in the paragraph. Countries, never items, are split, so that no test
/// country's paragraph is seen in training.
/// </summary>
public static class FactbookQa
{
    /// <summary>Profiles run 60-160 words: shorter ones are stubs of uninhabited islands and bases (three or four facts).</summary>
    public const int MinWords = 60, MaxWords = 160;
    /// <summary>By hash of the country code (<see cref="CorpusSplitter.Position"/>): 10% validation, 10% test, the rest train.</summary>
    public const double HeldOutFraction = 0.1;
    public const string ReadmeFile = "README.md";

    static readonly CorpusSplitter Splitter = new(HeldOutFraction, HeldOutFraction);

    public static CorpusSplit SplitOf(string code) => Splitter.Assign(code);

    /// <summary>The " Question: ... Answer:" prompt of a question, as the reference QA files spell it.</summary>
    public static string Prompt(string question) => $" Question: {question} Answer:";

    /// <summary>
    /// The profile of one country file, or null when it has no usable name or its paragraph is under
    /// <see cref="MinWords"/> words (the oceans, uninhabited islands). Paragraphs over <see cref="MaxWords"/> lose the location's
    /// detail, then trailing facts, so that every context stays short.
    /// </summary>
    public static CountryProfile? Profile(string code, string json, int seed)
    {
        using var doc = JsonDocument.Parse(json);
        if (FactbookFacts.CountryName(code, doc.RootElement) is not { } name) return null;
        List<CountryFact> facts = FactbookFacts.Read(doc.RootElement, name);

        // One generator per country, seeded by its code too, so adding a country reorders no other.
        var rng = new Random(unchecked(seed * 1_000_003 + (int)(CorpusSplitter.Position(code) * int.MaxValue)));
        string[] sentences = facts.Select(f => f.Sentence).Distinct().ToArray();   // two facts may share a sentence
        rng.Shuffle(sentences);
        var kept = sentences.ToList();
        if (Words(kept) > MaxWords && facts.FindIndex(f => f.Field == "region") is >= 0 and var r)
        {
            CountryFact shorter = facts[r] with { Sentence = $"{name} is located in {facts[r].Answers[0]}." };
            kept[kept.IndexOf(facts[r].Sentence)] = shorter.Sentence;
            facts[r] = shorter;
        }
        while (Words(kept) > MaxWords) kept.RemoveAt(kept.Count - 1);
        facts.RemoveAll(f => !kept.Contains(f.Sentence));
        return Words(kept) < MinWords ? null : new CountryProfile(code, name, string.Join(" ", kept), facts);
    }

    /// <summary>One QA item per fact, the profile as input.</summary>
    public static IEnumerable<QaItem> Items(CountryProfile profile) =>
        profile.Facts.Select(f => new QaItem(profile.Text, Prompt(f.Question), f.Answers));

    /// <summary>The country files of the cached Factbook archive, (code, JSON) in path order, as the corpus reads them.</summary>
    public static IReadOnlyList<(string Code, string Json)> ReadCountries(PackageCache cache)
    {
        Dictionary<string, byte[]> files = cache.ReadNpm(CorpusSources.Factbook);
        return files.Keys
            .Where(p => p.EndsWith(".json", StringComparison.Ordinal) && p.Count(c => c == '/') == 2 && !p.StartsWith("package/meta/", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .Select(p => (Path.GetFileNameWithoutExtension(p), Encoding.UTF8.GetString(files[p])))
            .ToList();
    }

    /// <summary>Writes {train,validation,test}.jsonl (QaJsonl) and README.md into <paramref name="outDir"/>.</summary>
    public static IReadOnlyList<QaSplitCount> Build(IEnumerable<(string Code, string Json)> countries, string outDir, int seed, string command)
    {
        var profiles = new List<CountryProfile>();
        var codes = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (code, json) in countries)
        {
            if (!codes.Add(code)) throw new InvalidDataException($"two Factbook files share the country code {code}: the split is by code");
            try
            {
                if (Profile(code, json, seed) is { } p) profiles.Add(p);
            }
            catch (JsonException e)
            {
                throw new InvalidDataException($"Factbook file {code}.json is not JSON: {e.Message}", e);
            }
        }
        if (profiles.Count == 0) throw new InvalidDataException("no Factbook country had a name and enough clean facts");

        Directory.CreateDirectory(outDir);
        var counts = new List<QaSplitCount>();
        foreach (CorpusSplit split in CorpusSplitter.Splits)
        {
            var chosen = profiles.Where(p => SplitOf(p.Code) == split).ToList();
            var items = chosen.SelectMany(Items).ToList();
            QaJsonl.Write(Path.Combine(outDir, CorpusSplitter.FileStem(split) + ".jsonl"), items);
            counts.Add(new QaSplitCount(split, chosen.Count, items.Count));
        }
        File.WriteAllText(Path.Combine(outDir, ReadmeFile), Readme(profiles, counts, seed, command));
        return counts;
    }

    static string Readme(IReadOnlyList<CountryProfile> profiles, IReadOnlyList<QaSplitCount> counts, int seed, string command)
    {
        var words = profiles.Select(p => TextCleanup.CountWords(p.Text)).Order().ToList();
        var sb = new StringBuilder();
        sb.AppendLine("# Factbook QA");
        sb.AppendLine();
        sb.AppendLine("Questions over short country profiles, for GMSA's QA fine-tuning and evaluation: the profile is the context to compress,");
        sb.AppendLine("the question the prompt, and every gold answer appears verbatim in the profile.");
        sb.AppendLine();
        sb.AppendLine($"Built by `{command}` from {CorpusSources.Factbook.Display} (CIA World Factbook, public domain), seed {seed}.");
        sb.AppendLine();
        sb.AppendLine("| split | countries | items |");
        sb.AppendLine("|---|---:|---:|");
        foreach (var c in counts) sb.AppendLine($"| {CorpusSplitter.FileStem(c.Split)} | {c.Countries} | {c.Items} |");
        sb.AppendLine($"| total | {counts.Sum(c => c.Countries)} | {counts.Sum(c => c.Items)} |");
        sb.AppendLine();
        sb.AppendLine("## Format");
        sb.AppendLine();
        sb.AppendLine("One `{\"input\", \"prompt\", \"answer\"}` object per line (the reference GMSA code's QA JSONL): `input` the profile,");
        sb.AppendLine("`prompt` `\" Question: ... Answer:\"`, `answer` the gold answer or a list of them (the first is the training target;");
        sb.AppendLine("the others are other spellings, the population with its estimate date, the currency's ISO code).");
        sb.AppendLine();
        sb.AppendLine("## Fields");
        sb.AppendLine();
        sb.AppendLine("| fact | items |");
        sb.AppendLine("|---|---:|");
        foreach (string field in FactbookFacts.Fields)
            sb.AppendLine($"| {field} | {profiles.Sum(p => p.Facts.Count(f => f.Field == field))} |");
        sb.AppendLine();
        sb.AppendLine("Read from Government > Capital > name, Geography > Location, Area > total, Coastline, Elevation extremes > highest point,");
        sb.AppendLine("People and Society > Population, Languages (first listed), Life expectancy at birth > total population,");
        sb.AppendLine("Government > Government type, Independence, National holiday (first listed), Economy > Exchange rates (currency name).");
        sb.AppendLine("A field whose text does not fit its expected shape (\"none (territory of ...)\", several dates, \"unnamed elevation\") is skipped.");
        sb.AppendLine();
        sb.AppendLine("## Profiles");
        sb.AppendLine();
        sb.AppendLine($"One paragraph per country, one sentence per fact naming the country, sentences in a seeded shuffled order; {words.Count} countries");
        sb.AppendLine($"with a name and a profile of at least {MinWords} words; {words[0]}-{words[^1]} words (median {words[words.Count / 2]}), capped at");
        sb.AppendLine($"{MaxWords} words by shortening the location sentence, then dropping trailing sentences with their questions.");
        sb.AppendLine();
        sb.AppendLine("## Split");
        sb.AppendLine();
        sb.AppendLine($"By country: the first 8 bytes of SHA-256 of the country code (\"fr\") as a fraction u in [0, 1); u < {HeldOutFraction} validation,");
        sb.AppendLine($"u < {2 * HeldOutFraction} test, the rest train. All questions of a country share its split, so test profiles are never trained on;");
        sb.AppendLine("the split does not depend on the seed or on the other countries.");
        return sb.ToString();
    }

    static int Words(IEnumerable<string> sentences) => sentences.Sum(TextCleanup.CountWords);
}
