using System.Text.RegularExpressions;

namespace Gmsa.Engine.Corpus;

/// <summary>
/// Jane Austen's six novels from Debian's r-cran-janeaustenr: each an R character vector of the
/// Project Gutenberg lines, read through <see cref="RLazyLoadDatabase"/>. One document per chapter;
/// title pages, volume headings, _emphasis_ underscores and the closing "THE END"/notes are dropped.
/// </summary>
public static partial class AustenReader
{
    public const string Source = "austen";

    /// <summary>Object names in the package's data/Rdata database and the novels' titles.</summary>
    public static readonly IReadOnlyDictionary<string, string> Novels = new Dictionary<string, string>
    {
        ["sensesensibility"] = "Sense and Sensibility",
        ["prideprejudice"] = "Pride and Prejudice",
        ["mansfieldpark"] = "Mansfield Park",
        ["emma"] = "Emma",
        ["northangerabbey"] = "Northanger Abbey",
        ["persuasion"] = "Persuasion",
    };

    public static List<CorpusDocument> Read(RLazyLoadDatabase data) =>
        Novels.SelectMany(n => Read(n.Key, n.Value, data.ReadStrings(n.Key))).ToList();

    public static List<CorpusDocument> Read(string key, string title, IEnumerable<string?> lines)
    {
        var documents = new List<CorpusDocument>();
        string? volume = null;
        foreach (Chapter chapter in Chapters.Split(lines, l => ChapterHeading().IsMatch(l) || VolumeHeading().IsMatch(l), IsEnd))
        {
            if (VolumeHeading().IsMatch(chapter.Heading))
            {
                volume = TitleCase(chapter.Heading);
                continue;
            }
            string text = TextCleanup.StripUnderscoreEmphasis(TextCleanup.Paragraphs(TextCleanup.UnwrapParagraphs(chapter.Lines)));
            if (text.Length == 0) continue;
            int number = documents.Count + 1;
            string where = volume is null ? TitleCase(chapter.Heading) : $"{volume}, {TitleCase(chapter.Heading)}";
            documents.Add(new CorpusDocument($"{Source}/{key}/{number:D2}", Source, $"{title}, {where}", text));
        }
        return documents;
    }

    static bool IsEnd(string line) =>
        line.Equals("THE END", StringComparison.OrdinalIgnoreCase) || line.Equals("FINIS", StringComparison.OrdinalIgnoreCase) ||
        line.StartsWith("A NOTE ON THE TEXT", StringComparison.OrdinalIgnoreCase);

    // "CHAPTER XII" -> "Chapter XII": roman numerals stay upper case.
    static string TitleCase(string heading) =>
        heading.Split(' ', 2) is [var word, var rest] ? char.ToUpperInvariant(word[0]) + word[1..].ToLowerInvariant() + " " + rest : heading;

    [GeneratedRegex(@"^chapter\s+([ivxlc]+|\d+)\.?$", RegexOptions.IgnoreCase)]
    private static partial Regex ChapterHeading();

    [GeneratedRegex(@"^volume\s+([ivx]+|\d+)\.?$", RegexOptions.IgnoreCase)]
    private static partial Regex VolumeHeading();
}
