namespace Gmsa.Api.Options;

/// <summary>Turns the configured model path into the absolute folder to load.</summary>
public static class ModelFolder
{
    /// <summary>
    /// An absolute path is kept. A relative one is tried against the content root, then each of its
    /// ancestors, then the build output and its ancestors: `dotnet run --project src/Gmsa.Api` (content
    /// root = the project folder) and the built dll both find <c>models/gmsa-tiny</c> at the repository
    /// root. When nothing matches, the content-root candidate is returned so the error names it.
    /// </summary>
    public static string Resolve(string configured, string contentRoot)
    {
        if (Path.IsPathRooted(configured)) return Path.GetFullPath(configured);
        foreach (var start in new[] { contentRoot, AppContext.BaseDirectory })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, configured);
                if (Directory.Exists(candidate)) return Path.GetFullPath(candidate);
            }
        return Path.GetFullPath(Path.Combine(contentRoot, configured));
    }
}
