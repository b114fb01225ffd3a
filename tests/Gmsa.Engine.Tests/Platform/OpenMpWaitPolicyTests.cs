using System.Runtime.InteropServices;
using Gmsa.Engine.Platform;

namespace Gmsa.Engine.Tests.Platform;

/// <summary>
/// The wait policy lands in the C environment, where libgomp reads it, and a value the user chose is kept. (This test
/// process loaded libtorch long before, so only the environment is checked here, not libgomp's behaviour.)
/// </summary>
[Collection(nameof(OpenMpWaitPolicyTests))]   // one process-wide variable: not in parallel with itself
public sealed class OpenMpWaitPolicyTests
{
    [DllImport("libc", EntryPoint = "setenv")]
    static extern int SetEnv(string name, string value, int overwrite);

    [DllImport("libc", EntryPoint = "unsetenv")]
    static extern int UnsetEnv(string name);

    [Fact]
    public void SleepBetweenRegions_NothingSet_SetsPassiveInTheCEnvironment()
    {
        var before = OpenMpWaitPolicy.Current();
        try
        {
            UnsetEnv("OMP_WAIT_POLICY");
            Assert.True(OpenMpWaitPolicy.SleepBetweenRegions());
            Assert.Equal("PASSIVE", OpenMpWaitPolicy.Current());
        }
        finally { Restore(before); }
    }

    [Fact]
    public void SleepBetweenRegions_UserChoseActive_KeepsItAndSaysSo()
    {
        var before = OpenMpWaitPolicy.Current();
        try
        {
            SetEnv("OMP_WAIT_POLICY", "ACTIVE", 1);
            Assert.False(OpenMpWaitPolicy.SleepBetweenRegions());
            Assert.Equal("ACTIVE", OpenMpWaitPolicy.Current());
        }
        finally { Restore(before); }
    }

    static void Restore(string? value)
    {
        if (value is null) UnsetEnv("OMP_WAIT_POLICY");
        else SetEnv("OMP_WAIT_POLICY", value, 1);
    }
}
