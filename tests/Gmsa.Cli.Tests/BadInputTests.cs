using Gmsa.Engine.Tests;

namespace Gmsa.Cli.Tests;

/// <summary>
/// A command line that cannot run ends with one line on stderr that says what is wrong, and exit code 1: no stack
/// trace, no help text after the error, no temporary file names.
/// </summary>
public sealed class BadInputTests
{
    static async Task<string> OneErrorLineAsync(string workingDirectory, params string[] arguments)
    {
        var run = await GmsaProcess.RunAsync(workingDirectory, arguments);
        Assert.Equal(1, run.ExitCode);
        Assert.Empty(run.Out);
        return Assert.Single(run.Errors);
    }

    [Theory]
    [InlineData(new[] { "compress", "--bogus" }, "gmsa compress: error: Unrecognized command or argument '--bogus'")]
    [InlineData(new[] { "compress", "--rate", "abc", "--out", "x" }, "Cannot parse argument 'abc' for option '--rate' as a whole number")]
    [InlineData(new[] { "train", "ae", "--bogus" }, "(see 'gmsa train ae --help')")]
    [InlineData(new[] { "nonsense" }, "gmsa: error: ")]
    public async Task ParseError_OneLineNamingTheVerbAndItsHelp(string[] arguments, string expected)
    {
        using var temp = new TempDir();
        Assert.Contains(expected, await OneErrorLineAsync(temp.Path, arguments));
    }

    [Fact]
    public async Task Help_AfterTheParseChange_StillPrintsTheVerbsHelp()
    {
        using var temp = new TempDir();
        var run = await GmsaProcess.RunAsync(temp.Path, "compress", "--help");

        Assert.Equal(0, run.ExitCode);
        Assert.Contains(run.Out, line => line.StartsWith("Usage:", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Inspect_MissingFolder_SaysTheModelFolderDoesNotExist()
    {
        using var temp = new TempDir();
        var missing = temp.File("no-model");
        Assert.Equal($"gmsa: error: model folder '{missing}' does not exist", await OneErrorLineAsync(temp.Path, "inspect", missing));
    }

    [Fact]
    public async Task Perplexity_MissingTokenFile_NamesItAndHowToMakeOne()
    {
        using var temp = new TempDir();
        var missing = temp.File("validation.bin");
        var line = await OneErrorLineAsync(temp.Path, "perplexity", "--model", RepoFiles.Path("models/gmsa-tiny"), "--tokens", missing);
        Assert.Contains($"token file '{missing}' does not exist", line);
        Assert.Contains("gmsa data encode", line);
    }

    [Fact]
    public async Task Answer_SoftFileOfAnotherKind_SaysItIsNotSafetensors()
    {
        using var temp = new TempDir();
        var notes = temp.File("notes.txt");
        File.WriteAllText(notes, "plain text that someone passed where soft tokens belong");
        var line = await OneErrorLineAsync(temp.Path, "answer", "--model", RepoFiles.Path("models/gmsa-tiny"), "--soft", notes, "--question", "Q?");
        Assert.Contains($"'{notes}' is not a safetensors file", line);
    }

    [Fact]
    public async Task Compress_OutIntoAMissingFolder_NamesTheFolderNotATemporaryFile()
    {
        using var temp = new TempDir();
        var folder = temp.File("missing");
        var line = await OneErrorLineAsync(temp.Path, "compress", "--model", RepoFiles.Path("models/gmsa-tiny"), "--text", "Hello there.",
            "--out", Path.Combine(folder, "soft.safetensors"));
        Assert.Contains($"the folder '{folder}' does not exist", line);
        Assert.DoesNotContain(".tmp", line);
    }
}
