using System.CommandLine;
using System.Diagnostics;

namespace Gmsa.Cli.Commands;

/// <summary>The built service as a child process on loopback, ready when /health/ready says so; killed on dispose.</summary>
internal sealed class LoopbackService : IDisposable
{
    readonly Process process;
    public HttpClient Client { get; }

    LoopbackService(Process process, HttpClient client) { this.process = process; Client = client; }

    /// <summary>--api-dll: the built service the benchmark starts.</summary>
    public static Option<string> DllOption() =>
        new("--api-dll") { Description = "the built service", DefaultValueFactory = _ => "src/Gmsa.Api/bin/Release/net10.0/linux-x64/Gmsa.Api.dll" };

    /// <summary>--port: where it listens on loopback (each benchmark its own default, so two can run side by side).</summary>
    public static Option<int> PortOption(int port) =>
        new Option<int>("--port") { Description = "loopback port for the service", DefaultValueFactory = _ => port }.Within(1, 65535);

    /// <summary>Checked before a benchmark prints or prepares anything: the service must be built.</summary>
    public static void RequireBuilt(string dll)
    {
        if (!File.Exists(dll)) throw new FileNotFoundException($"{dll} does not exist: dotnet build src/Gmsa.Api -c Release");
    }

    /// <param name="settings">command-line settings for the service (--Gmsa:...=...), after the ones every benchmark wants</param>
    public static LoopbackService Start(string dll, int port, params string[] settings)
    {
        var info = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { dll, $"--urls=http://127.0.0.1:{port}", "--Gmsa:Access:RequestTimeoutSeconds=0", "--Serilog:MinimumLevel:Default=Warning" }.Concat(settings))
            info.ArgumentList.Add(a);
        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start the service");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromMinutes(5) };
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(120))
        {
            if (process.HasExited) throw new InvalidOperationException($"the service exited with {process.ExitCode} before it was ready");
            try { if (client.GetAsync("/health/ready").GetAwaiter().GetResult().IsSuccessStatusCode) return new LoopbackService(process, client); }
            catch (HttpRequestException) { }
            Thread.Sleep(250);
        }
        process.Kill(entireProcessTree: true);
        throw new TimeoutException("the service was not ready within 120 s");
    }

    /// <summary>The service's resident memory now, in MiB (Linux: VmRSS of /proc/PID/status).</summary>
    public double ResidentMiB()
    {
        var line = File.ReadLines($"/proc/{process.Id}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) / 1024.0;
    }

    public void Dispose()
    {
        Client.Dispose();
        try { process.Kill(entireProcessTree: true); process.WaitForExit(10_000); } catch (InvalidOperationException) { }
        process.Dispose();
    }
}
