namespace Gmsa.Engine.Tests;

/// <summary>Files committed in this repository (recipes, models/gmsa-tiny), found from the test binaries.</summary>
internal static class RepoFiles
{
    public static string Path(string relative)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "Gmsa.slnx"))) return System.IO.Path.Combine(dir.FullName, relative);
        throw new FileNotFoundException("the repository root (Gmsa.slnx) is not above the test binaries");
    }
}
