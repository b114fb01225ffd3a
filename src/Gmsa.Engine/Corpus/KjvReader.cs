using System.Text;
using System.Text.RegularExpressions;

namespace Gmsa.Engine.Corpus;

/// <summary>
/// The King James Bible as printed by Debian's bible-kjv (`bible -p DIR "Gen1:1-Rev22:21"`): a
/// "Book N" heading between blank lines per chapter, then verses "  N text" wrapped at 80 columns.
/// Headings and verse numbers go; each chapter becomes a paragraph, each book a document.
/// </summary>
public static partial class KjvReader
{
    public const string Source = "kjv";

    /// <summary>The first and last verse references that make `bible` print the whole text.</summary>
    public const string WholeBible = "Gen1:1-Rev22:21";

    public static List<CorpusDocument> Read(string bibleOutput)
    {
        string[] lines = bibleOutput.ReplaceLineEndings("\n").Split('\n');
        var books = new List<(string Name, List<StringBuilder> Chapters)>();
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i];
            if (line.Trim().Length == 0) continue;
            bool alone = (i == 0 || lines[i - 1].Trim().Length == 0) && (i + 1 == lines.Length || lines[i + 1].Trim().Length == 0);
            if (alone && Heading().Match(line) is { Success: true } h)
            {
                string book = h.Groups[1].Value.Trim();
                if (books.Count == 0 || books[^1].Name != book) books.Add((book, []));
                books[^1].Chapters.Add(new StringBuilder());
                continue;
            }
            if (books.Count == 0)
                throw new InvalidDataException($"bible output line {i + 1} comes before any \"Book N\" heading: {line.Trim()}");
            Match verse = Verse().Match(line);
            StringBuilder chapter = books[^1].Chapters[^1];
            chapter.Append(' ').Append(verse.Success ? verse.Groups[1].Value : line);
        }
        return books
            .Select(b => new CorpusDocument($"{Source}/{TextCleanup.Slug(b.Name)}", Source, $"{b.Name} (King James Version)",
                TextCleanup.Paragraphs(b.Chapters.Select(c => c.ToString()))))
            .Where(d => d.Text.Length > 0)
            .ToList();
    }

    [GeneratedRegex(@"^(\S.*\S) (\d+)$")]
    private static partial Regex Heading();

    [GeneratedRegex(@"^\s+\d+ (.*)$")]
    private static partial Regex Verse();
}
