using System.Net;
using Gmsa.Engine.Generation;
using Gmsa.Engine.Serving;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Gmsa.Api.Tests.Infrastructure;

/// <summary>
/// The real service over a model folder with settings for the test at hand: in memory (TestServer), or on a
/// real Kestrel socket on 127.0.0.1 after <see cref="StartOnLoopback"/>. A null folder keeps the
/// service's own setting (appsettings.json: the embedded models/gmsa-tiny).
/// </summary>
public sealed class ApiFactory(string? modelDir, params (string Key, string Value)[] settings) : WebApplicationFactory<Program>
{
    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        if (modelDir is not null) builder.UseSetting("Gmsa:Model:Path", modelDir);
        builder.UseSetting("Serilog:MinimumLevel:Default", "Warning");
        builder.UseSetting("Gmsa:Access:DrainSeconds", "0");     // disposing a factory is a shutdown: no drain window in tests
        builder.UseSetting("Serilog:MinimumLevel:Override:Microsoft.Hosting.Lifetime", "Warning");
        foreach (var (key, value) in settings) builder.UseSetting(key, value);
    }

    public LanguageModel Model => Services.GetRequiredService<LanguageModel>();
    public GenerationScheduler Scheduler => Services.GetRequiredService<GenerationScheduler>();

    /// <summary>Serves on an ephemeral loopback port; <see cref="WebApplicationFactory{T}.CreateClient()"/> then talks TCP.</summary>
    public ApiFactory StartOnLoopback()
    {
        UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        StartServer();
        return this;
    }

    /// <summary>Occupies the model's thread until disposed (20 s at most), so admitted requests stay queued.</summary>
    public IDisposable HoldModel()
    {
        var gate = new ManualResetEventSlim();
        Model.Runner.RunAsync(() => gate.Wait(TimeSpan.FromSeconds(20)));
        return new Release(gate);
    }

    sealed class Release(ManualResetEventSlim gate) : IDisposable
    {
        public void Dispose() => gate.Set();
    }

    /// <summary>Waits (10 s at most) until exactly <paramref name="count"/> requests hold a slot.</summary>
    public async Task WaitForInFlightAsync(int count)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (Scheduler.InFlight != count)
        {
            if (timeout.IsCancellationRequested)
                Assert.Fail($"expected {count} requests in flight, still {Scheduler.InFlight} after 10 s");
            await Task.Delay(10);
        }
    }
}
