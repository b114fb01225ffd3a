using System.Diagnostics;

namespace Gmsa.Engine.Tests;

/// <summary>
/// A built dll (gmsa.dll, Gmsa.Api.dll) run with `dotnet` as a user runs it, from a folder of the test's choosing, bounded
/// in time. Shared by the CLI and service tests, which link this file.
/// </summary>
internal static class DllProcess
{
    public sealed record Run(int ExitCode, string[] Out, string[] Errors, string RawOut);

    public static async Task<Run> RunAsync(string dll, string workingDirectory, IEnumerable<string> arguments, TimeSpan limit)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, dll));
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        start.Environment.Remove("OTEL_EXPORTER_OTLP_ENDPOINT");   // a developer's collector must not slow or break the run
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(limit);
        try { await process.WaitForExitAsync(timeout.Token); }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{dll} {string.Join(' ', start.ArgumentList.Skip(1))} did not exit within {limit.TotalSeconds:F0} s");
        }
        static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return new Run(process.ExitCode, Lines(await output), Lines(await errors), await output);
    }
}
