using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Gmsa.Engine.Checkpoints;

namespace Gmsa.Engine.Benchmarks;

/// <summary>llama2.c's run.c on the same weights (exported with <see cref="Llama2cExport"/>): its text and its tokens/s.</summary>
public sealed record Llama2cRun(string Text, double TokensPerSecond);

/// <summary>
/// Runs a compiled llama2.c `run` (the user builds it: gcc -Ofast -fopenmp -march=native run.c -lm -o run) greedy from BOS
/// with OMP_NUM_THREADS set, so the comparison uses the same weights and cores. Nothing of llama2.c ships with Gmsa.
/// </summary>
public static partial class Llama2cReference
{
    public static Llama2cRun Run(string runBinary, string modelDir, int steps, int threads, string workDir)
    {
        if (!File.Exists(runBinary)) throw new FileNotFoundException($"llama2.c binary '{runBinary}' does not exist (build run.c first)");
        Llama2cExport.Export(modelDir, workDir);
        var info = new ProcessStartInfo(Path.GetFullPath(runBinary))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // -t 0: greedy; -n: positions including BOS, so steps + 1 gives `steps` new tokens.
        foreach (var a in new[] { Path.Combine(workDir, "model.bin"), "-z", Path.Combine(workDir, "tokenizer.bin"), "-t", "0", "-n", (steps + 1).ToString(CultureInfo.InvariantCulture) })
            info.ArgumentList.Add(a);
        info.Environment["OMP_NUM_THREADS"] = threads.ToString(CultureInfo.InvariantCulture);
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {runBinary}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        string output = stdout.GetAwaiter().GetResult(), errors = stderr.GetAwaiter().GetResult();
        if (process.ExitCode != 0) throw new InvalidOperationException($"{runBinary} failed (exit {process.ExitCode}): {errors.Trim()}");
        var rate = AchievedRate().Match(errors + output);
        if (!rate.Success) throw new InvalidDataException($"{runBinary} printed no 'achieved tok/s' line");
        return new Llama2cRun(output.Trim(), double.Parse(rate.Groups[1].Value, CultureInfo.InvariantCulture));
    }

    [GeneratedRegex(@"achieved tok/s: ([0-9.]+)")]
    private static partial Regex AchievedRate();
}
