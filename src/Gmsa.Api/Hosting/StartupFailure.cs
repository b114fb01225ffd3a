using System.Text.RegularExpressions;
using Gmsa.Api.Options;
using Microsoft.Extensions.Options;

namespace Gmsa.Api.Hosting;

/// <summary>
/// A configuration that cannot start the service (a missing model folder, an out-of-range setting, a value of the wrong
/// type, a setting that does not exist, an address already in use, a model folder whose files cannot be read) ends with one log line naming the setting and what it takes, and exit code 1, not a
/// stack trace.
/// </summary>
public static partial class StartupFailure
{
    /// <summary>
    /// Refuses settings under Gmsa that nothing reads (<see cref="Settings.Unknown"/>), then binds and checks every
    /// validated options class before the pipeline reads any of them (the access middleware reads its options while it
    /// is built): false, with the reason logged, when one fails.
    /// </summary>
    public static bool SettingsAreValid(this WebApplication app)
    {
        var unknown = Settings.Unknown(app.Configuration).ToList();
        if (unknown.Count > 0)
        {
            app.Logger.LogCritical("Gmsa cannot start: {Reason}", string.Join("; ", unknown));
            return false;
        }
        try
        {
            // The host would validate too, but after the pipeline is built, and with a stack trace.
            app.Services.GetRequiredService<IStartupValidator>().Validate();
            return true;
        }
        catch (Exception e) when (Explain(e) is { } reason)
        {
            app.Logger.LogCritical("Gmsa cannot start: {Reason}", reason);
            return false;
        }
    }

    /// <summary>Runs the app; exit code 0 when it stops, 1 with one log line when its configuration fails to bind or validate.</summary>
    public static async Task<int> RunOrExplainAsync(this WebApplication app)
    {
        try
        {
            await app.RunAsync();
            return 0;
        }
        catch (Exception e) when (Explain(e) is { } reason)
        {
            app.Logger.LogCritical("Gmsa cannot start: {Reason}", reason);
            return 1;
        }
    }

    /// <summary>What to tell the operator about a configuration error; null for any other exception (it keeps its stack trace).</summary>
    public static string? Explain(Exception error) => error switch
    {
        AggregateException { InnerExceptions.Count: 1 } one => Explain(one.InnerExceptions[0]),
        // Thrown while the model and its compressor load (files of the wrong kind, a missing tokenizer, an unsupported
        // model_type, a device this build cannot reach): the messages name the file or the setting. An ArgumentException
        // with a parameter name is a programming error, and keeps its stack trace.
        // Every JSON file of the model and compressor folders is read through the engine's JsonFile, which names the file
        // in an InvalidDataException.
        InvalidDataException or NotSupportedException or FileNotFoundException or DirectoryNotFoundException or ArgumentException { ParamName: null } =>
            $"{error.Message.ReplaceLineEndings(" ")} (while loading the model)",
        OptionsValidationException invalid => string.Join("; ", invalid.Failures),
        InvalidOperationException { InnerException: not null } e when ConversionFailure().Match(e.Message) is { Success: true } m =>
            $"{m.Groups["path"].Value} is '{m.Groups["value"].Value}', but it takes {Expected(m.Groups["type"].Value, m.Groups["path"].Value)} " +
            $"({Settings.Where(m.Groups["path"].Value)})",
        IOException { InnerException: Microsoft.AspNetCore.Connections.AddressInUseException } inUse =>
            $"{inUse.Message.TrimEnd('.')}: stop what listens there, or choose another address with --urls (ASPNETCORE_URLS)",
        _ => null,
    };

    /// <summary>The values a setting takes, in words: an enum's names, a number's range (the setting's [Range] where it has one).</summary>
    static string Expected(string typeName, string path)
    {
        var type = AppDomain.CurrentDomain.GetAssemblies().Select(a => a.GetType(typeName)).FirstOrDefault(t => t is not null);
        return type is null ? $"a value of type {typeName}" : Settings.Takes(type, Settings.Find(path));
    }

    // The binder's wording (Microsoft.Extensions.Configuration.Binder): the value, the setting's path, the property's type.
    [GeneratedRegex(@"^Failed to convert configuration value '(?<value>.*)' at '(?<path>[^']+)' to type '(?<type>[^']+)'", RegexOptions.Singleline)]
    private static partial Regex ConversionFailure();
}
