using System.Globalization;
using System.Text.RegularExpressions;

namespace Gmsa.Engine.Corpus;

/// <summary>
/// WordNet 3.0 glosses from Debian's wordnet-base (usr/share/wordnet/data.{noun,verb,adj,adv}). Each
/// synset line "offset lexfile pos count word lexid ... | gloss" becomes one definitional sentence,
/// "learn (also larn, acquire): gain knowledge or skills. For example: "She learned dancing".", and
/// glosses are grouped, in file order (by topic), into documents of <see cref="GlossesPerDocument"/>.
/// </summary>
public static partial class WordNetReader
{
    public const string Source = "wordnet";
    public const int GlossesPerDocument = 250;
    const int MaxSynonyms = 3;

    /// <summary>The data files and the name used in ids and titles.</summary>
    public static readonly IReadOnlyList<(string File, string Name)> DataFiles =
        [("data.noun", "nouns"), ("data.verb", "verbs"), ("data.adj", "adjectives"), ("data.adv", "adverbs")];

    public static List<CorpusDocument> Read(string name, IEnumerable<string> lines)
    {
        var sentences = lines.Select(ParseLine).OfType<string>().ToList();
        var documents = new List<CorpusDocument>();
        for (int start = 0; start < sentences.Count; start += GlossesPerDocument)
        {
            var chunk = sentences.Skip(start).Take(GlossesPerDocument).ToList();
            int part = start / GlossesPerDocument + 1;
            documents.Add(new CorpusDocument($"{Source}/{name}/{part:D3}", Source, $"WordNet {name}, part {part}", string.Join("\n", chunk)));
        }
        return documents;
    }

    /// <summary>The sentence for one data-file line; null for the licence header (lines opening with two spaces) and malformed lines.</summary>
    public static string? ParseLine(string line)
    {
        if (line.StartsWith("  ", StringComparison.Ordinal)) return null;
        int bar = line.IndexOf(" | ", StringComparison.Ordinal);
        if (bar < 0) return null;
        string[] fields = line[..bar].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length < 6 || !int.TryParse(fields[3], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out int count) || fields.Length < 4 + 2 * count)
            return null;
        var words = Enumerable.Range(0, count).Select(i => Word(fields[4 + 2 * i])).Distinct().ToList();

        string gloss = TexQuote().Replace(TextCleanup.Line(line[(bar + 3)..]), "‘$1’");   // `to your credit' -> ‘to your credit’, clear of the example quotes
        int firstExample = FirstExample().Match(gloss) is { Success: true } m ? m.Index : gloss.Length;
        string definition = gloss[..firstExample].TrimEnd(' ', ';', '.');
        var examples = Example().Matches(gloss[firstExample..]).Select(e => e.Groups[1].Value.Trim()).Where(e => e.Length > 0).ToList();
        if (definition.Length == 0 || words.Count == 0) return null;

        string head = words.Count == 1 ? words[0] : $"{words[0]} (also {string.Join(", ", words.Skip(1).Take(MaxSynonyms))})";
        string sentence = $"{head}: {definition}.";
        if (examples.Count > 0) sentence += $" For example: {string.Join("; ", examples.Select(e => $"\"{e}\""))}.";
        return sentence;
    }

    // "long_time" -> "long time"; adjective position markers "(a)", "(p)", "(ip)" go.
    static string Word(string field) => AdjectiveMarker().Replace(field, "").Replace('_', ' ');

    [GeneratedRegex(@"(^|;\s*)""")]
    private static partial Regex FirstExample();

    [GeneratedRegex(@"""([^""]*)""")]
    private static partial Regex Example();

    [GeneratedRegex(@"`([^`']+)'")]
    private static partial Regex TexQuote();

    [GeneratedRegex(@"\((a|p|ip)\)$")]
    private static partial Regex AdjectiveMarker();
}
