using Gmsa.Engine.Tests;

namespace Gmsa.Cli.Tests;

/// <summary>`gmsa generate` on the embedded gmsa-tiny, greedy: the same text every run, so a stop string can be chosen from it.</summary>
public sealed class GenerateTests
{
    [Fact]
    public async Task Generate_Stop_PrintsTheTextBeforeTheFirstStopStringAndSaysWhy()
    {
        using var temp = new TempDir();
        string[] common = ["generate", "--model", RepoFiles.Path("models/gmsa-tiny"), "--prompt", "Once upon a time", "--max-new-tokens", "30"];
        var free = await GmsaProcess.RunAsync(temp.Path, common);
        const string Prompt = "Once upon a time";
        string continuation = free.RawOut[Prompt.Length..].TrimEnd('\n');
        int cut = continuation.IndexOf(',');
        Assert.True(cut > 0, $"no comma to stop at in '{continuation}'");

        var stopped = await GmsaProcess.RunAsync(temp.Path, [.. common, "--stop", "zzz", ","]);

        Assert.Equal(0, stopped.ExitCode);
        Assert.Equal(Prompt + continuation[..cut] + "\n", stopped.RawOut);
        Assert.Contains("(stop string)", Assert.Single(stopped.Errors));
    }
}
