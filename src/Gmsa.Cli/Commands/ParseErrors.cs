using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Parsing;
using System.Text.RegularExpressions;

namespace Gmsa.Cli.Commands;

/// <summary>
/// A command line that does not parse gets one line on stderr naming the verb, what is wrong and where the help is, and
/// exit code 1; System.CommandLine's default prints its errors and then the verb's whole help (20-odd lines) after them.
/// </summary>
internal static class ParseErrors
{
    /// <returns>the exit code: 1 after the line when <paramref name="parsed"/> has errors, else the command's own</returns>
    public static int InvokeOrExplain(ParseResult parsed)
    {
        if (parsed.Errors.Count == 0 || parsed.Action is HelpAction) return parsed.Invoke();
        Console.Error.WriteLine(OneLine(parsed));
        return 1;
    }

    public static string OneLine(ParseResult parsed)
    {
        string verb = CommandPath(parsed.CommandResult);
        var reasons = parsed.Errors.Select(e => Plain(e.Message.ReplaceLineEndings(" ").Trim().TrimEnd('.'))).Distinct();
        return $"{verb}: error: {string.Join("; ", reasons)} (see '{verb} --help')";
    }

    /// <summary>"as expected type 'System.Int32'" in words a user of the command line reads.</summary>
    static string Plain(string message) => EnumChoices(message)
        .Replace("as expected type 'System.Int32'", "as a whole number")
        .Replace("as expected type 'System.Int64'", "as a whole number")
        .Replace("as expected type 'System.Double'", "as a number")
        .Replace("as expected type 'System.Single'", "as a number")
        .Replace("as expected type 'System.Boolean'", "as true or false");

    /// <summary>An enum option's "as expected type 'Gmsa.Engine.Corpus.FactbookSplit'. Did you mean one of the following? A B" as "(one of: A, B)".</summary>
    static string EnumChoices(string message) =>
        Regex.Replace(message, @" as expected type '[^']+'\.? *Did you mean one of the following\? *(.+)$",
            m => $" (one of: {string.Join(", ", m.Groups[1].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries))})");

    /// <summary>"gmsa train ae": the root's name is the executable's, so it is written as gmsa whatever the dll is called.</summary>
    static string CommandPath(CommandResult result)
    {
        var names = new List<string>();
        for (SymbolResult? r = result; r is CommandResult c; r = c.Parent)
            names.Insert(0, c.Parent is null ? "gmsa" : c.Command.Name);
        return string.Join(' ', names);
    }
}
