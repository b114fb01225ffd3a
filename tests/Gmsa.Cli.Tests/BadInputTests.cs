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
    [InlineData(new[] { "data", "prepare", "--factbook-split", "bogus" }, "'--factbook-split' (one of: Country, Document)")]
    [InlineData(new[] { "bench", "decode", "--repeats", "0" }, "gmsa bench decode: error: --repeats must be >= 1, got 0 (see")]   // was an index error after loading the model
    [InlineData(new[] { "bench", "decode", "--batch", "4", "0" }, "--batch takes values >= 1, got 0")]                            // was "no prompts"
    [InlineData(new[] { "bench", "serve", "--clients", "0" }, "--clients must be >= 1, got 0")]                                  // measured nothing and printed ratios of it
    [InlineData(new[] { "bench", "api", "--port", "70000" }, "--port must be in [1, 65535], got 70000")]
    [InlineData(new[] { "bench", "soak", "--rounds", "0" }, "gmsa bench soak: error: --rounds must be >= 1, got 0")]
    public async Task ParseError_BadOptionOrValue_OneLineNamingTheVerbAndItsHelp(string[] arguments, string expected)
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

    [Fact]
    public async Task Answer_MissingSoftFile_NamesItAsTheSoftTokenFile()
    {
        using var temp = new TempDir();
        var missing = temp.File("soft.safetensors");
        Assert.Equal($"gmsa: error: soft-token file '{missing}' does not exist",
            await OneErrorLineAsync(temp.Path, "answer", "--model", RepoFiles.Path("models/gmsa-tiny"), "--soft", missing, "--question", "Q?"));
    }

    [Fact]
    public async Task Compress_MissingContextFile_NamesItAsTheContextFile()
    {
        using var temp = new TempDir();
        var missing = temp.File("doc.txt");
        Assert.Equal($"gmsa: error: context file '{missing}' does not exist",
            await OneErrorLineAsync(temp.Path, "compress", "--model", RepoFiles.Path("models/gmsa-tiny"), "--file", missing, "--out", temp.File("soft.safetensors")));
    }

    [Fact]
    public async Task Eval_OutputIntoAMissingFolder_RefusedBeforeAnyTaskRuns()
    {
        using var temp = new TempDir();
        var folder = temp.File("missing");
        // One line and no stdout: the evaluation's rows (stderr) and table (stdout) would come first if it had run.
        var line = await OneErrorLineAsync(temp.Path, "eval", "--model", RepoFiles.Path("models/gmsa-tiny"), "--task", "reconstruction",
            "--plot", Path.Combine(folder, "bleu.png"));
        Assert.Contains($"the folder '{folder}' does not exist", line);
    }

    [Fact]
    public async Task BenchDecode_MissingLlama2cBinary_RefusedBeforeTheBenchmarkRuns()
    {
        using var temp = new TempDir();
        var missing = temp.File("run");
        Assert.Equal($"gmsa: error: llama2.c binary '{missing}' does not exist",
            await OneErrorLineAsync(temp.Path, "bench", "decode", "--model", RepoFiles.Path("models/gmsa-tiny"), "--llama2c", missing));
    }

    [Fact]
    public async Task TrainExport_MissingRunFolder_SaysTheRunFolderDoesNotExist()
    {
        using var temp = new TempDir();
        var missing = temp.File("runs");
        Assert.Equal($"gmsa: error: run folder '{missing}' does not exist",
            await OneErrorLineAsync(temp.Path, "train", "export", "--run", missing, "--out", temp.File("model")));
    }

    [Fact]
    public async Task ConvertGmsaReference_MissingCheckpoint_NamesTheSafetensorsFile()
    {
        using var temp = new TempDir();
        var missing = temp.File("model.safetensors");
        Assert.Equal($"gmsa: error: safetensors file '{missing}' does not exist",
            await OneErrorLineAsync(temp.Path, "convert", "gmsa-reference", missing, "--model", RepoFiles.Path("models/gmsa-tiny"), "--out", temp.File("compressor")));
        Assert.False(Directory.Exists(temp.File("compressor")));
    }

    [Theory]
    [InlineData(new[] { "generate", "--prompt", "" }, "gmsa: error: --prompt is empty")]
    [InlineData(new[] { "generate", "--prompt", "Hi", "--stop", "" }, "gmsa: error: --stop strings must not be empty")]
    [InlineData(new[] { "answer", "--question", "", "--text", "Chad." }, "gmsa: error: --question is empty")]
    [InlineData(new[] { "answer", "--question", "Q?", "--text", "Chad.", "--rate", "0" }, "gmsa: error: --rate must be in [1, 1024], got 0")]
    [InlineData(new[] { "compress", "--text", "Chad.", "--rate", "5000", "--out", "soft.safetensors" }, "gmsa: error: --rate must be in [1, 1024], got 5000")]
    public async Task ModelVerb_EmptyTextOrRateOutOfRange_RefusedInOneLine(string[] arguments, string expected)
    {
        using var temp = new TempDir();
        Assert.Equal(expected, await OneErrorLineAsync(temp.Path, [.. arguments, "--model", RepoFiles.Path("models/gmsa-tiny")]));
    }

    [Fact]
    public async Task Generate_PromptPastTheContext_PrintsTheErrorAndNotThePrompt()
    {
        // the prompt was echoed to stdout before the context check refused it
        using var temp = new TempDir();
        var prompt = string.Concat(Enumerable.Repeat("Once upon a time there was a dog. ", 200));
        var line = await OneErrorLineAsync(temp.Path, "generate", "--model", RepoFiles.Path("models/gmsa-tiny"), "--prompt", prompt);
        Assert.Contains("exceeds the model's context of 1024", line);
    }
}
