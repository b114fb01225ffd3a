using System.Runtime.InteropServices;

namespace Gmsa.Engine.Platform;

/// <summary>
/// libtorch's CPU ops run on OpenMP (libgomp), whose threads by default spin for a while after each parallel region
/// before they sleep. The CPU decode step (<see cref="Model.CpuDecodeStep"/>) runs its own two-thread team between
/// libtorch ops, and a spinning OpenMP thread on the other core kept that team's second thread from starting: in a
/// 16-row step the first layer's projections waited ~3 ms for it (gmsa-tiny, 2 cores, 2026-12-04: 1,292 tokens/s with
/// spinning, 2,942 with PASSIVE in the same hour). <see cref="SleepBetweenRegions"/> sets OMP_WAIT_POLICY=PASSIVE so
/// those threads sleep at once; measured the same day, bf16 prefill and training throughput did not change.
/// libgomp reads the variable when it loads, so this must run before the first TorchSharp call; a value the user set
/// is kept.
/// </summary>
public static class OpenMpWaitPolicy
{
    const string Variable = "OMP_WAIT_POLICY";

    [DllImport("libc", EntryPoint = "setenv")]
    static extern int SetEnv(string name, string value, int overwrite);

    [DllImport("libc", EntryPoint = "getenv")]
    static extern nint GetEnv(string name);

    /// <summary>True when the C environment now says PASSIVE (set here, or by the user); false where there is no libc.</summary>
    public static bool SleepBetweenRegions()
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return false;
        // .NET's Environment.SetEnvironmentVariable changes only the managed copy; libgomp reads the C environment.
        try
        {
            SetEnv(Variable, "PASSIVE", overwrite: 0);
            return string.Equals(Current(), "PASSIVE", StringComparison.OrdinalIgnoreCase);
        }
        catch (EntryPointNotFoundException) { return false; }
        catch (DllNotFoundException) { return false; }
    }

    /// <summary>OMP_WAIT_POLICY as libgomp will read it (the C environment), or null.</summary>
    public static string? Current() => Marshal.PtrToStringUTF8(GetEnv(Variable));
}
