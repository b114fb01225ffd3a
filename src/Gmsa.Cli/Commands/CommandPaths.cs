namespace Gmsa.Cli.Commands;

/// <summary>
/// Paths a command line names, checked before the command's work starts: a missing output folder found after minutes
/// of evaluation wastes them, and the OS's own message names a temporary file or "a part of the path".
/// </summary>
internal static class CommandPaths
{
    /// <summary>The folder <paramref name="file"/> is to be written into must exist; null means nothing is written.</summary>
    public static void RequireOutputFolder(string? file)
    {
        if (file is null) return;
        string folder = Path.GetDirectoryName(Path.GetFullPath(file)) ?? ".";
        if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"cannot write '{file}': the folder '{folder}' does not exist");
    }

    /// <summary><paramref name="path"/> must be an existing file; <paramref name="what"/> says what it was to be ("soft-token file").</summary>
    public static void RequireFile(string? path, string what)
    {
        if (path is not null && !File.Exists(path)) throw new FileNotFoundException($"{what} '{path}' does not exist", path);
    }
}
