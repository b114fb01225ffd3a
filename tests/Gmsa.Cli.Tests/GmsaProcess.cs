using System.Diagnostics;

namespace Gmsa.Cli.Tests;

/// <summary>The built gmsa.dll run as a user runs it, from a folder of the test's choosing (at most 60 s: every bad-input case ends in seconds).</summary>
internal static class GmsaProcess
{
    public sealed record Run(int ExitCode, string[] Out, string[] Errors, string RawOut);

    public static async Task<Run> RunAsync(string workingDirectory, params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "gmsa.dll"));
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try { await process.WaitForExitAsync(timeout.Token); }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"gmsa {string.Join(' ', arguments)} did not exit within 60 s");
        }
        static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return new Run(process.ExitCode, Lines(await output), Lines(await errors), await output);
    }
}
