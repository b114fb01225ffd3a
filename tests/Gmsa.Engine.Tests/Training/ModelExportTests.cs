using Gmsa.Engine.Training;

namespace Gmsa.Engine.Tests.Training;

/// <summary>`gmsa train export --run DIR` names what is wrong with DIR, not the run.json path the OS could not open.</summary>
public sealed class ModelExportTests
{
    [Fact]
    public void RunRecipe_MissingFolder_SaysTheRunFolderDoesNotExist()
    {
        using var dir = new TempDir();
        string run = dir.File("no-run");

        var e = Assert.Throws<DirectoryNotFoundException>(() => ModelExport.RunRecipe(run));
        Assert.Equal($"run folder '{run}' does not exist", e.Message);
    }

    [Fact]
    public void Export_FolderWithoutRunJson_SaysItIsNotARunFolder()
    {
        using var dir = new TempDir();
        using var output = new TempDir();

        var e = Assert.Throws<FileNotFoundException>(() => ModelExport.Export(dir.Path, output.Path, []));
        Assert.StartsWith($"'{dir.Path}' is not a run folder: run.json is missing", e.Message);
    }
}
