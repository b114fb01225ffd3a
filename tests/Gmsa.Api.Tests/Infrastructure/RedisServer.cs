using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Gmsa.Api.Tests.Infrastructure;

/// <summary>
/// A real redis-server (Debian's package, installed by .ci/run) on a free loopback port, without persistence, for the
/// test's lifetime. Skips the test with a message when the binary is absent or does not start.
/// </summary>
public sealed class RedisServer : IDisposable
{
    readonly Process process;

    RedisServer(Process process, int port)
    {
        this.process = process;
        Port = port;
    }

    public int Port { get; }
    public string ConnectionString => $"127.0.0.1:{Port}";

    public static RedisServer Start()
    {
        var binary = new[] { "/usr/bin/redis-server", "/usr/local/bin/redis-server" }.FirstOrDefault(File.Exists);
        if (binary is null) Assert.Skip("redis-server is not installed (Debian package redis-server; .ci/run installs it)");
        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }
        var info = new ProcessStartInfo(binary) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "--port", port.ToString(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "yes" })
            info.ArgumentList.Add(a);
        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(10))
        {
            try
            {
                using var client = new TcpClient();
                client.Connect(IPAddress.Loopback, port);
                return new RedisServer(process, port);
            }
            catch (SocketException) { Thread.Sleep(50); }
            if (process.HasExited) break;
        }
        try { process.Kill(); } catch (InvalidOperationException) { }
        Assert.Skip($"redis-server did not start on port {port} within 10 s");
        return null!;
    }

    public void Dispose()
    {
        try { process.Kill(entireProcessTree: true); process.WaitForExit(5000); }
        catch (InvalidOperationException) { }
        process.Dispose();
    }
}
