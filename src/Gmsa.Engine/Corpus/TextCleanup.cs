using System.Text;
using System.Text.RegularExpressions;

namespace Gmsa.Engine.Corpus;

/// <summary>
/// The whitespace rules every source shares, so that documents look alike whatever their origin:
/// NFC, no control characters, single spaces inside a paragraph, paragraphs separated by one blank line.
/// </summary>
public static partial class TextCleanup
{
    /// <summary>Collapses runs of spaces/tabs/newlines into one space and trims; NFC.</summary>
    public static string Line(string text)
    {
        var sb = new StringBuilder(text.Length);
        bool pendingSpace = false;
        foreach (char c in text.Normalize(NormalizationForm.FormC))
        {
            if (char.IsWhiteSpace(c) || char.IsControl(c) || c == '\uFEFF')
            {
                pendingSpace = sb.Length > 0;
                continue;
            }
            if (pendingSpace) sb.Append(' ');
            pendingSpace = false;
            sb.Append(c);
        }
        return sb.ToString();
    }

    /// <summary>
    /// Cleans each paragraph with <see cref="Line"/> and joins them with a blank line; paragraphs with no
    /// letter or digit (scene breaks "***", leftover rules) are dropped.
    /// </summary>
    public static string Paragraphs(IEnumerable<string> paragraphs) =>
        string.Join("\n\n", paragraphs.Select(Line).Where(p => p.Any(char.IsLetterOrDigit)));

    /// <summary>Gutenberg's _italics_ markup to plain text; underscores inside words (e-mail names) stay.</summary>
    public static string StripUnderscoreEmphasis(string text) => UnderscoreEmphasis().Replace(text, "$1");

    /// <summary>
    /// Wrapped plain text (a line break inside a paragraph, blank lines between paragraphs) to paragraphs.
    /// Lines for which <paramref name="keepLine"/> is false are dropped without breaking the paragraph.
    /// </summary>
    public static List<string> UnwrapParagraphs(IEnumerable<string> lines, Func<string, bool>? keepLine = null)
    {
        var paragraphs = new List<string>();
        var current = new StringBuilder();
        foreach (string raw in lines)
        {
            if (raw.AsSpan().Trim().IsEmpty)
            {
                Flush();
                continue;
            }
            if (keepLine is not null && !keepLine(raw)) continue;
            if (current.Length > 0) current.Append(' ');
            current.Append(raw.Trim());
        }
        Flush();
        return paragraphs;

        void Flush()
        {
            string p = Line(current.ToString());
            if (p.Length > 0) paragraphs.Add(p);
            current.Clear();
        }
    }

    public static int CountWords(string text)
    {
        int words = 0;
        bool inWord = false;
        foreach (char c in text)
        {
            bool space = char.IsWhiteSpace(c);
            if (!space && !inWord) words++;
            inWord = !space;
        }
        return words;
    }

    /// <summary>A lower-case ASCII slug for ids ("Song of Solomon" -> "song-of-solomon").</summary>
    public static string Slug(string text)
    {
        var sb = new StringBuilder();
        foreach (char c in text.Normalize(NormalizationForm.FormKD))
        {
            if (char.IsAsciiLetterOrDigit(c)) sb.Append(char.ToLowerInvariant(c));
            else if (sb.Length > 0 && sb[^1] != '-' && (char.IsWhiteSpace(c) || char.IsPunctuation(c) || char.IsSymbol(c))) sb.Append('-');
        }
        return sb.ToString().Trim('-');
    }

    [GeneratedRegex(@"(?<![\w_])_([^_\s](?:[^_]*[^_\s])?)_(?![\w_])")]
    private static partial Regex UnderscoreEmphasis();
}
