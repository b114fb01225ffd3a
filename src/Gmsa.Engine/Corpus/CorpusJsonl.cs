using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Gmsa.Engine.Corpus;

/// <summary>
/// A split on disk: one JSON object per line, {"id", "source", "title", "text"}, UTF-8, non-ASCII
/// written as is so that the files read naturally.
/// </summary>
public static class CorpusJsonl
{
    static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>Writes atomically: a temporary file moved into place once complete.</summary>
    public static void Write(string path, IEnumerable<CorpusDocument> documents)
    {
        string tmp = path + ".tmp";
        try
        {
            using (var writer = new StreamWriter(tmp, append: false, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false)))
            {
                writer.NewLine = "\n";
                foreach (CorpusDocument d in documents) writer.WriteLine(JsonSerializer.Serialize(d, Options));
            }
            File.Move(tmp, path, overwrite: true);
        }
        catch
        {
            File.Delete(tmp);
            throw;
        }
    }

    /// <summary>Reads documents lazily; a malformed line throws with its path and line number.</summary>
    public static IEnumerable<CorpusDocument> Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"corpus split not found: {path}");
        int lineNumber = 0;
        foreach (string line in File.ReadLines(path, Encoding.UTF8))
        {
            lineNumber++;
            if (line.Length == 0) continue;
            CorpusDocument? d;
            try
            {
                d = JsonSerializer.Deserialize<CorpusDocument>(line, Options);
            }
            catch (JsonException e)
            {
                throw new InvalidDataException($"{path}:{lineNumber}: not a JSON document: {e.Message}", e);
            }
            if (d is null || d.Id is null || d.Source is null || d.Title is null || d.Text is null)
                throw new InvalidDataException($"{path}:{lineNumber}: a document needs id, source, title and text");
            yield return d;
        }
    }

    /// <summary>The path of a split's file in a corpus folder.</summary>
    public static string SplitPath(string corpusDir, CorpusSplit split) => Path.Combine(corpusDir, CorpusSplitter.FileStem(split) + ".jsonl");
}
