using System.Diagnostics;
using System.IO.Compression;
using Gmsa.Engine.Tests;

namespace Gmsa.Api.Tests.Client;

/// <summary>The client as other solutions take it: `dotnet pack src/Gmsa.Client`, as the README says.</summary>
public sealed class ClientPackageTests
{
    [Fact]
    public async Task Pack_ClientProject_PackageHoldsTheLibraryItsReadmeAndNoModelCode()
    {
        using var output = new TempDir();
        var project = Path.Combine(RepoRoot(), "src", "Gmsa.Client");
        var pack = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { "pack", project, "-c", "Release", "--no-restore", "--nologo", "-o", output.Path }) pack.ArgumentList.Add(argument);
        using var process = Process.Start(pack)!;
        var log = process.StandardOutput.ReadToEndAsync();
        _ = process.StandardError.ReadToEndAsync();
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        bound.CancelAfter(TimeSpan.FromMinutes(3));
        await process.WaitForExitAsync(bound.Token);
        Assert.True(process.ExitCode == 0, await log);

        using var package = ZipFile.OpenRead(Assert.Single(Directory.GetFiles(output.Path, "Gmsa.Client.*.nupkg")));
        var entries = package.Entries.Select(e => e.FullName).ToList();
        Assert.Contains("lib/net10.0/Gmsa.Client.dll", entries);   // any platform: no runtimes/<rid>/ folder
        Assert.Contains("README.md", entries);
        Assert.DoesNotContain(entries, e => e.StartsWith("runtimes/", StringComparison.Ordinal));
        using var nuspec = new StreamReader(package.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal)).Open());
        var manifest = await nuspec.ReadToEndAsync(TestContext.Current.CancellationToken);
        Assert.Contains("<readme>README.md</readme>", manifest);
        Assert.Contains("id=\"Microsoft.Extensions.AI.Abstractions\"", manifest);
        Assert.DoesNotContain("TorchSharp", manifest);
    }

    static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Gmsa.slnx"))) return dir.FullName;
        throw new DirectoryNotFoundException("the repository root (Gmsa.slnx) is not above the test binaries");
    }
}
