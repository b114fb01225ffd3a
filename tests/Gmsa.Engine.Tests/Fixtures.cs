namespace Gmsa.Engine.Tests;

/// <summary>
/// Finds the shared test fixtures (../shared/fixtures beside the checkout). They are not part of the
/// repository, so tests that need them skip when they are absent.
/// </summary>
public static class Fixtures
{
    /// <summary>The full path of <c>shared/fixtures/{relative}</c> in the nearest ancestor holding it, or null.</summary>
    public static string? Find(string relative)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "shared", "fixtures", relative);
            if (File.Exists(candidate) || Directory.Exists(candidate)) return candidate;
        }
        return null;
    }

    /// <summary>Like <see cref="Find"/>, but skips the calling test with a clear message when absent.</summary>
    public static string Require(string relative)
    {
        string? path = Find(relative);
        if (path is null)
            Assert.Skip($"fixture shared/fixtures/{relative} not found above {AppContext.BaseDirectory}; " +
                "fixtures live beside the checkout, not in it");
        return path;
    }
}
