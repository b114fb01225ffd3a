using System.Text.Json;

namespace Gmsa.Engine.Checkpoints;

/// <summary>
/// Reads the JSON files of model folders, compressor folders and recipes. A file that does not parse, or does not fit
/// the shape it is read into, is an InvalidDataException naming the file in one wording, wherever it is read: the
/// service and the command line report those as a bad file, where a bare JsonException would name none.
/// </summary>
internal static class JsonFile
{
    /// <summary>
    /// The file's text through <paramref name="parse"/> (JsonNode.Parse, a Deserialize, a record's own Parse). A
    /// JsonException, or what System.Text.Json's nodes and elements throw for a value of another kind than asked
    /// (InvalidOperationException, FormatException, KeyNotFoundException, OverflowException: `"r": "8"` read as an int,
    /// a list where an object belongs, a missing required property), becomes an InvalidDataException naming
    /// <paramref name="path"/>; the parser's own errors (InvalidDataException, NotSupportedException) pass as they are.
    /// </summary>
    public static T Read<T>(string path, Func<string, T> parse)
    {
        string json = File.ReadAllText(path);
        try { return parse(json); }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or KeyNotFoundException or OverflowException)
        {
            throw new InvalidDataException($"'{path}' is not valid JSON ({e.Message})", e);
        }
    }
}
