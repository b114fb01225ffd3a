namespace Gmsa.Engine.Corpus;

/// <summary>A heading line and the lines under it, up to the next heading.</summary>
public sealed record Chapter(string Heading, List<string> Lines);

/// <summary>Splits a book given as lines at its headings; front matter before the first heading is dropped.</summary>
public static class Chapters
{
    /// <param name="lines">the book; null lines (R's NA) read as blank</param>
    /// <param name="isHeading">whether a trimmed line opens a new section</param>
    /// <param name="isEnd">whether a trimmed line ends the text (THE END, a licence that follows)</param>
    public static List<Chapter> Split(IEnumerable<string?> lines, Func<string, bool> isHeading, Func<string, bool> isEnd)
    {
        var chapters = new List<Chapter>();
        foreach (string? raw in lines)
        {
            string line = raw?.Trim() ?? "";
            if (isEnd(line)) break;
            if (line.Length > 0 && isHeading(line)) chapters.Add(new Chapter(line, []));
            else if (chapters.Count > 0) chapters[^1].Lines.Add(raw ?? "");
        }
        return chapters;
    }
}
