using System.Text.RegularExpressions;

namespace Gmsa.Engine.Corpus;

/// <summary>
/// The Jargon File 4.4.7 from Debian's jargon-text (usr/share/doc/jargon-text/jargon.txt.gz). The
/// lexicon gives one document per entry (":abbrev: /@·breev'/, n." then the senses); each chapter and
/// appendix essay is a document too. The tables of contents (the book's and each chapter's), the per-letter headword lists, tables,
/// ASCII art and the bibliography are dropped, pronunciations removed and {cross-reference} braces undone.
/// </summary>
public static partial class JargonReader
{
    public const string Source = "jargon";

    public static List<CorpusDocument> Read(string jargonText)
    {
        var sections = new List<(string Title, bool Entry, List<string> Lines)>();
        bool inLexicon = false, open = false, skippingContents = false;
        foreach (string line in jargonText.ReplaceLineEndings("\n").Split('\n'))
        {
            if (line.Length > 0 && !char.IsWhiteSpace(line[0]))           // column 0: chapter, appendix or subheading
            {
                if (line == "Bibliography") break;
                if (line == "Glossary") { inLexicon = true; open = false; continue; }
                if (ChapterHeading().IsMatch(line))
                {
                    inLexicon = false;
                    sections.Add((TextCleanup.Line(line), false, []));  // headings use no-break spaces
                    open = true;
                    continue;
                }
            }
            if (inLexicon && EntryHeader().Match(line) is { Success: true } entry)
            {
                sections.Add((entry.Groups[1].Value, true, [entry.Groups[2].Value, ""]));
                open = true;
                continue;
            }
            if (inLexicon && LetterHeading().IsMatch(line)) open = false;  // the headword list that opens each letter
            else if (!inLexicon && line.Trim() == "Table of Contents") skippingContents = true;
            else if (skippingContents && TextCleanup.CountWords(line) < 8) continue; // its titles, up to the first line of prose
            else if (open)
            {
                skippingContents = false;
                sections[^1].Lines.Add(line);
            }
        }

        var documents = new List<CorpusDocument>();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (title, isEntry, lines) in sections)
        {
            List<string> paragraphs = TextCleanup.UnwrapParagraphs(lines, KeepLine).Select(Unbrace).ToList();
            if (isEntry)
            {
                // The first paragraph is what followed the headword: pronunciations and the part of speech.
                string grammar = paragraphs.Count > 0 ? Pronunciation().Replace(paragraphs[0], "").Trim(' ', ',') : "";
                if (paragraphs.Count > 0) paragraphs.RemoveAt(0);
                if (paragraphs.Count == 0) continue;
                paragraphs.Insert(0, grammar.Length > 0 ? $"{title} ({grammar})" : title);
            }
            string text = TextCleanup.Paragraphs(paragraphs);
            if (TextCleanup.CountWords(text) < 3) continue;
            string slug = TextCleanup.Slug(title) is { Length: > 0 } s ? s : "entry";
            string id = $"{Source}/{slug}";
            for (int n = 2; !ids.Add(id); n++) id = $"{Source}/{slug}-{n}";
            documents.Add(new CorpusDocument(id, Source, isEntry ? $"Jargon File: {title}" : $"Jargon File, {title}", text));
        }
        return documents;
    }

    /// <summary>
    /// False for table rules and cells, table captions, and ASCII art: preformatted lines (indented past
    /// the body's three spaces) of which letters make under two thirds.
    /// </summary>
    public static bool KeepLine(string line)
    {
        if (line.Any(c => c is >= '\u2500' and <= '\u257F') || TableCaption().IsMatch(line)) return false;
        if (line.Length - line.TrimStart().Length <= 3) return true;
        int visible = line.Count(c => !char.IsWhiteSpace(c)), letters = line.Count(char.IsLetter);
        return letters >= 3 && 3 * letters >= 2 * visible;   // prose is ~80% letters, art and tables far less
    }

    static string Unbrace(string paragraph) => CrossReference().Replace(paragraph, "$1");

    [GeneratedRegex(@"^(Chapter\s\d+|Appendix\s[A-Z])\.\s\S")]
    private static partial Regex ChapterHeading();

    [GeneratedRegex(@"^   :([^:\s][^:]*?):(?:\s+(.*))?$")]
    private static partial Regex EntryHeader();

    [GeneratedRegex(@"^  \S+$")]
    private static partial Regex LetterHeading();

    [GeneratedRegex(@"/[^/\s][^/]*/|//")]
    private static partial Regex Pronunciation();

    [GeneratedRegex(@"\{([^{}]+)\}")]
    private static partial Regex CrossReference();

    [GeneratedRegex(@"^\s*Table \d+\.\d+\.")]
    private static partial Regex TableCaption();
}
