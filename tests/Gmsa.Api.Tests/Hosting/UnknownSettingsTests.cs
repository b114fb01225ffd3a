using Gmsa.Api.Options;
using Microsoft.Extensions.Configuration;

namespace Gmsa.Api.Tests.Hosting;

/// <summary>Settings under Gmsa that nothing reads are named, with the nearest real one, instead of being ignored.</summary>
public sealed class UnknownSettingsTests
{
    static List<string> Unknown(params (string Key, string Value)[] settings) =>
        Settings.Unknown(new ConfigurationBuilder()
            .AddInMemoryCollection(settings.Select(s => KeyValuePair.Create(s.Key, (string?)s.Value)))
            .Build()).ToList();

    [Fact]
    public void Unknown_EverySettingOfEverySection_NoneReported()
    {
        var every = new[] { typeof(ModelOptions), typeof(ServingOptions), typeof(CompressionOptions), typeof(AccessOptions), typeof(LoggingOptions) }
            .SelectMany(c => c.GetProperties().Where(p => p.CanWrite).Select(p => ($"{Settings.SectionOf(c)}:{p.Name}{(p.PropertyType.IsArray ? ":0" : "")}", "1")))
            .ToArray();

        Assert.True(every.Length > 30);
        Assert.Empty(Unknown(every));
    }

    [Fact]
    public void Unknown_OtherCaseListEntriesAndOtherRoots_NoneReported()
    {
        Assert.Empty(Unknown(("gmsa:serving:maxbatchsize", "8"), ("Gmsa:Access:ApiKeys:0", "a"), ("Gmsa:Access:ApiKeys:1", "b"),
            ("Serilog:MinimumLevel:Default", "Information"), ("GMSA_MALLOC", "default")));
    }

    [Fact]
    public void Unknown_MisspeltSetting_NamesItAndTheNearest()
    {
        var line = Assert.Single(Unknown(("Gmsa:Access:RequestsPerMinut", "10")));

        Assert.StartsWith("Gmsa:Access:RequestsPerMinut is not a setting (did you mean Gmsa:Access:RequestsPerMinute?): Gmsa:Access has ", line);
        Assert.Contains("ApiKeys", line);
    }

    [Fact]
    public void Unknown_MisspeltSection_NamesItAndTheSections()
    {
        Assert.Equal(["Gmsa:Servng is not a section of settings (did you mean Gmsa:Serving?): Gmsa has Model, Serving, Compression, Access, Logging"],
            Unknown(("Gmsa:Servng:MaxBatchSize", "8")));
    }

    [Fact]
    public void Unknown_NameFarFromEveryOther_NoGuess()
    {
        var line = Assert.Single(Unknown(("Gmsa:Serving:Temperature", "0.7")));

        Assert.StartsWith("Gmsa:Serving:Temperature is not a setting: Gmsa:Serving has MaxQueuedRequests, MaxBatchSize, ", line);
    }

    [Fact]
    public void Unknown_SingleValueForTheKeyList_SaysHowToSetAList()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection([KeyValuePair.Create("Gmsa:Access:ApiKeys", (string?)"secret")]).Build();
        var bound = configuration.GetSection(AccessOptions.Section).Get<AccessOptions>() ?? new AccessOptions();

        Assert.Empty(bound.ApiKeys);   // what the binder makes of it: no keys, an open API
        Assert.Equal(["Gmsa:Access:ApiKeys is a list: set its entries as Gmsa:Access:ApiKeys:0, :1, ... (Gmsa__Access__ApiKeys__0, __1, ... " +
                      "in the environment); a single value there is not read"], Settings.Unknown(configuration));
        Assert.Empty(Unknown(("Gmsa:Access:ApiKeys", "")));   // an empty value sets no key either way
    }
}
