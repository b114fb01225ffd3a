namespace Gmsa.Api.Hosting;

/// <summary>
/// Where the service looks for appsettings.json (and wwwroot): the working directory, as ASP.NET does, unless it has no
/// appsettings.json and the build output does; then the build output. So `dotnet path/to/Gmsa.Api.dll` started from
/// anywhere reads the same settings as `dotnet run` in the project folder.
/// </summary>
public static class ContentRoot
{
    /// <returns>the folder to use, or null to keep ASP.NET's choice (also when the host passes its own content root)</returns>
    public static string? Find(string currentDirectory, string baseDirectory, IReadOnlyList<string> args)
    {
        if (args.Any(a => a.Contains("contentRoot", StringComparison.OrdinalIgnoreCase))) return null;
        if (File.Exists(Path.Combine(currentDirectory, "appsettings.json"))) return null;
        return File.Exists(Path.Combine(baseDirectory, "appsettings.json")) ? baseDirectory : null;
    }
}
