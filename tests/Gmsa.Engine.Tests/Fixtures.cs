namespace Gmsa.Engine.Tests;

/// <summary>
/// Locates the shared test fixtures (../shared/fixtures beside the repository, never copied into it)
/// by walking up from the test binaries.
/// </summary>
internal static class Fixtures
{
    /// <summary>Full path of <paramref name="relative"/> under shared/fixtures, or null when it is not there.</summary>
    public static string? Find(string relative)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string root = Path.Combine(dir.FullName, "shared", "fixtures");
            if (Directory.Exists(root))
            {
                string path = Path.Combine(root, relative);
                return File.Exists(path) || Directory.Exists(path) ? path : null;
            }
        }
        return null;
    }
}
