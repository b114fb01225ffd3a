using System.Diagnostics;

namespace Gmsa.Engine.Corpus;

/// <summary>
/// Runs the command-line tools the data pipeline leans on (npm, apt-get, dpkg-deb, bible, spm_train),
/// finding them on PATH first so that a missing one is reported with the package that provides it.
/// </summary>
public static class ExternalTool
{
    /// <summary>The full path of <paramref name="tool"/> on PATH (or the path itself when it names a file).</summary>
    /// <param name="provider">what to install, for the error message ("Debian package sentencepiece")</param>
    public static string Require(string tool, string provider)
    {
        if (tool.Contains('/')) return File.Exists(tool) ? tool : throw new FileNotFoundException($"{tool} not found ({provider})");
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(dir, tool);
            if (File.Exists(candidate)) return candidate;
        }
        throw new FileNotFoundException($"{tool} not found on PATH: install {provider}");
    }

    /// <summary>Runs the tool to completion and returns its stdout; a non-zero exit throws with the last line it printed on stderr.</summary>
    public static string Run(string tool, IEnumerable<string> arguments, string? workingDirectory = null, string? provider = null)
    {
        string path = Require(tool, provider ?? tool);
        var info = new ProcessStartInfo(path)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (string a in arguments) info.ArgumentList.Add(a);
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {path}");
        // Both pipes are drained concurrently: a tool that fills stderr must not block on it while we read stdout.
        Task<string> stdout = process.StandardOutput.ReadToEndAsync(), stderr = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        string output = stdout.GetAwaiter().GetResult(), errors = stderr.GetAwaiter().GetResult();
        if (process.ExitCode != 0)
        {
            string last = errors.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault()
                          ?? output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault() ?? "";
            throw new InvalidOperationException($"{Path.GetFileName(tool)} {string.Join(' ', info.ArgumentList)} failed (exit {process.ExitCode}): {last}");
        }
        return output;
    }
}
