namespace Gmsa.Engine.Benchmarks;

/// <summary>
/// The process's peak resident memory (Linux VmHWM), which <see cref="Reset"/> brings back to the current resident size
/// (writing 5 to /proc/self/clear_refs), so two configurations measured one after the other each get their own peak.
/// Null where /proc does not offer it.
/// </summary>
public static class PeakMemory
{
    public static bool Reset()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or DirectoryNotFoundException)
        {
            return false;
        }
    }

    /// <summary>Peak resident bytes since start or the last <see cref="Reset"/>.</summary>
    public static long? Read()
    {
        if (!File.Exists("/proc/self/status")) return null;
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                return long.Parse(line["VmHWM:".Length..].Trim().Split(' ')[0]) * 1024;   // "VmHWM:   123456 kB"
        return null;
    }
}
