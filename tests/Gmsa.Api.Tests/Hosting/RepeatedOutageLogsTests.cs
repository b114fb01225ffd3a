using Gmsa.Api.Telemetry;
using Microsoft.Extensions.Time.Testing;
using Serilog.Events;
using Serilog.Parsing;

namespace Gmsa.Api.Tests.Hosting;

public sealed class RepeatedOutageLogsTests
{
    static LogEvent Event(string source, string template, LogEventLevel level = LogEventLevel.Error, bool withException = true) =>
        new(DateTimeOffset.UtcNow, level, withException ? new InvalidOperationException("redis down") : null,
            new MessageTemplateParser().Parse(template), [new LogEventProperty("SourceContext", new ScalarValue(source))]);

    [Fact]
    public void IsEnabled_SameCacheErrorRepeated_FirstThenOneAMinute()
    {
        var clock = new FakeTimeProvider();
        var filter = new RepeatedOutageLogs(clock);
        const string Hybrid = "Microsoft.Extensions.Caching.Hybrid.Internal.DefaultHybridCache";

        Assert.True(filter.IsEnabled(Event(Hybrid, "Cache backend read failure.")));
        Assert.False(filter.IsEnabled(Event(Hybrid, "Cache backend read failure.")));
        Assert.True(filter.IsEnabled(Event(Hybrid, "Cache backend write failure.")));     // another kind: its own first
        clock.Advance(TimeSpan.FromSeconds(59));
        Assert.False(filter.IsEnabled(Event(Hybrid, "Cache backend read failure.")));
        clock.Advance(TimeSpan.FromSeconds(2));
        Assert.True(filter.IsEnabled(Event(Hybrid, "Cache backend read failure.")));
        Assert.False(filter.IsEnabled(Event(Hybrid, "Cache backend read failure.")));
    }

    [Fact]
    public void IsEnabled_HealthWarningOnEveryProbe_OneAMinute()
    {
        var clock = new FakeTimeProvider();
        var filter = new RepeatedOutageLogs(clock);
        const string Health = "Microsoft.Extensions.Diagnostics.HealthChecks.DefaultHealthCheckService";
        const string Template = "Health check {HealthCheckName} with status {HealthStatus} completed";

        Assert.True(filter.IsEnabled(Event(Health, Template, LogEventLevel.Warning, withException: false)));
        clock.Advance(TimeSpan.FromSeconds(10));
        Assert.False(filter.IsEnabled(Event(Health, Template, LogEventLevel.Warning, withException: false)));
        clock.Advance(RepeatedOutageLogs.Window);
        Assert.True(filter.IsEnabled(Event(Health, Template, LogEventLevel.Warning, withException: false)));
    }

    [Fact]
    public void IsEnabled_OtherSourcesAndInformation_AlwaysPass()
    {
        var filter = new RepeatedOutageLogs(new FakeTimeProvider());
        for (int i = 0; i < 3; i++)
        {
            Assert.True(filter.IsEnabled(Event("Gmsa.Api", "Stream stopped")));
            Assert.True(filter.IsEnabled(Event("Microsoft.Extensions.Caching.Hybrid", "hit", LogEventLevel.Information, withException: false)));
        }
    }
}
