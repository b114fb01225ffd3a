using System.Runtime.InteropServices;

namespace Gmsa.Engine.Platform;

/// <summary>
/// libtorch on CPU allocates every activation with malloc. glibc serves blocks above 128 KiB-32 MiB
/// with fresh mmap()s and unmaps them on free, so a [8, 1024, 384] activation page-faults all its
/// 3,000 pages on every op: measured here, an element-wise op took 8 ms with glibc's defaults and
/// 0.4 ms after this. <see cref="KeepFreedMemory"/> turns mmap off and never trims the heap, so freed
/// blocks are reused warm; the process keeps its peak footprint instead of returning it.
/// (The same as MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=... in the environment, done in-process.)
/// </summary>
public static class GlibcAllocator
{
    const int M_TRIM_THRESHOLD = -1, M_TOP_PAD = -2, M_MMAP_MAX = -4;

    [DllImport("libc", EntryPoint = "mallopt")]
    static extern int Mallopt(int parameter, int value);

    [DllImport("libc", EntryPoint = "malloc_trim")]
    static extern int MallocTrim(nuint pad);

    /// <summary>
    /// Hands freed heap pages back to the system now (malloc_trim), so a benchmark that measures two configurations
    /// in one process sees each one's own peak; false where there is no glibc.
    /// </summary>
    public static bool ReleaseFreedMemory()
    {
        if (!OperatingSystem.IsLinux()) return false;
        try { return MallocTrim(0) == 1; }
        catch (EntryPointNotFoundException) { return false; }
        catch (DllNotFoundException) { return false; }
    }

    /// <summary>True when applied (glibc on Linux); false elsewhere or when the GMSA_MALLOC=default opt-out is set.</summary>
    public static bool KeepFreedMemory()
    {
        if (!OperatingSystem.IsLinux() || Environment.GetEnvironmentVariable("GMSA_MALLOC") == "default") return false;
        try
        {
            return Mallopt(M_MMAP_MAX, 0) == 1
                & Mallopt(M_TRIM_THRESHOLD, int.MaxValue) == 1
                & Mallopt(M_TOP_PAD, 64 << 20) == 1;
        }
        catch (EntryPointNotFoundException) { return false; } // musl and other non-glibc libcs
        catch (DllNotFoundException) { return false; }
    }
}
