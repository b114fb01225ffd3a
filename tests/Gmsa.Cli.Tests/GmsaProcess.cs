using Gmsa.Engine.Tests;

namespace Gmsa.Cli.Tests;

/// <summary>The built gmsa.dll run as a user runs it (at most 60 s: every bad-input case ends in seconds).</summary>
internal static class GmsaProcess
{
    public static Task<DllProcess.Run> RunAsync(string workingDirectory, params string[] arguments) =>
        DllProcess.RunAsync("gmsa.dll", workingDirectory, arguments, TimeSpan.FromSeconds(60));
}
