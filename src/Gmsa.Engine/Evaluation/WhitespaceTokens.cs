namespace Gmsa.Engine.Evaluation;

/// <summary>
/// Words as Python's <c>str.split()</c> makes them: runs of non-whitespace characters, split on any Unicode
/// whitespace (<see cref="char.IsWhiteSpace(char)"/>), no empty words. The metrics ported from Python scripts
/// tokenise this way so that their numbers can be compared with the scripts' own.
/// </summary>
static class WhitespaceTokens
{
    public static string[] Split(string text) => text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
}
