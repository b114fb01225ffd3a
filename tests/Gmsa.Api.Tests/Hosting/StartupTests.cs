using System.Diagnostics;
using Gmsa.Api.Options;
using Gmsa.Engine.Tests;
using Gmsa.Engine.Tests.Golden;

namespace Gmsa.Api.Tests.Hosting;

/// <summary>
/// Start-up refuses bad configuration with one log line that says what to change. Checked on the real
/// process (the built Gmsa.Api.dll), since how it ends (exit code, what reaches the console) is the point.
/// </summary>
public sealed class StartupTests(Stories260kFixture stories) : IClassFixture<Stories260kFixture>
{
    [Fact]
    public async Task Process_MissingModelFolder_ExitsWithOneLineNamingThePathAndTheSetting()
    {
        using var temp = new TempDir();
        var missing = temp.File("no-such-model");
        var (exitCode, lines) = await RunServiceAsync(temp.Path, $"--Gmsa:Model:Path={missing}");

        Assert.Equal(1, exitCode);
        var line = Assert.Single(lines);
        Assert.Contains($"model folder '{missing}' does not exist", line);
        Assert.Contains("Gmsa:Model:Path", line);
        Assert.Contains("Gmsa__Model__Path", line);
    }

    [Fact]
    public async Task Process_JsonLogging_WritesOneJsonObjectPerLine()
    {
        using var temp = new TempDir();
        var missing = Path.Combine(temp.Path, "no-model");
        var (exitCode, lines) = await RunServiceAsync(temp.Path, $"--Gmsa:Model:Path={missing}", "--Gmsa:Logging:Json=true");

        Assert.Equal(1, exitCode);
        Assert.NotEmpty(lines);
        var events = lines.Select(l => System.Text.Json.Nodes.JsonNode.Parse(l)!.AsObject()).ToArray();   // each line is JSON
        Assert.All(events, e => Assert.NotNull(e["@t"]));
        Assert.Contains(events, e => (string?)e["@l"] == "Fatal" && ((string?)e["@m"])!.Contains(missing));
    }

    [Fact]
    public async Task Process_BuiltDllStartedElsewhere_ServesThePlaygroundAtTheRoot()
    {
        using var temp = new TempDir();
        using var service = StartService(temp.Path, out var http, "--environment=Production");   // no static web assets manifest
        var page = await FirstAnswerAsync(http, "/", service);

        Assert.Equal(System.Net.HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("<html", await page.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.OrdinalIgnoreCase);
        Assert.Equal(System.Net.HttpStatusCode.OK, (await http.GetAsync("/playground.js", TestContext.Current.CancellationToken)).StatusCode);
    }

    [Fact]
    public async Task Process_Sigterm_AnswersNewConnections503AndFailsReadinessForTheDrainWindowThenExits0()
    {
        using var temp = new TempDir();
        using var service = StartService(temp.Path, out var http, "--Gmsa:Access:DrainSeconds=4");
        var ready = Stopwatch.StartNew();
        while ((await FirstAnswerAsync(http, "/health/ready", service)).StatusCode != System.Net.HttpStatusCode.OK && ready.Elapsed < TimeSpan.FromSeconds(60))
            await Task.Delay(250, TestContext.Current.CancellationToken);
        using (var term = Process.Start("kill", ["-TERM", service.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])) await term.WaitForExitAsync(TestContext.Current.CancellationToken);
        await Task.Delay(500, TestContext.Current.CancellationToken);

        using var fresh = new HttpClient { BaseAddress = http.BaseAddress, Timeout = TimeSpan.FromSeconds(5) };   // a new connection
        var refused = await fresh.GetAsync("/v1/models", TestContext.Current.CancellationToken);
        Assert.Equal(System.Net.HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.True(refused.Headers.ConnectionClose);
        Assert.Equal(System.Net.HttpStatusCode.ServiceUnavailable, (await fresh.GetAsync("/health/ready", TestContext.Current.CancellationToken)).StatusCode);
        using var exit = new CancellationTokenSource(TimeSpan.FromSeconds(40));
        await service.WaitForExitAsync(exit.Token);
        Assert.Equal(0, service.ExitCode);
    }

    /// <summary>The built service on a free loopback port, with stories260K; killed when disposed.</summary>
    Process StartService(string workingDirectory, out HttpClient http, params string[] arguments)
    {
        int port = FreeLoopbackPort();
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { Path.Combine(AppContext.BaseDirectory, "Gmsa.Api.dll"), $"--urls=http://127.0.0.1:{port}", $"--Gmsa:Model:Path={stories.Require()}" }.Concat(arguments))
            start.ArgumentList.Add(argument);
        start.Environment.Remove("OTEL_EXPORTER_OTLP_ENDPOINT");
        var process = new KilledOnDispose();
        process.StartInfo = start;
        process.Start();
        _ = process.StandardOutput.ReadToEndAsync();
        _ = process.StandardError.ReadToEndAsync();
        http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(5) };
        return process;
    }

    /// <summary>The first answer to GET <paramref name="path"/> once the service listens (at most 60 s).</summary>
    static async Task<HttpResponseMessage> FirstAnswerAsync(HttpClient http, string path, Process service)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try { return await http.GetAsync(path, TestContext.Current.CancellationToken); }
            catch (HttpRequestException) when (deadline.Elapsed < TimeSpan.FromSeconds(60) && !service.HasExited)
            {
                await Task.Delay(250, TestContext.Current.CancellationToken);   // not listening yet
            }
        }
    }

    sealed class KilledOnDispose : Process
    {
        protected override void Dispose(bool disposing)
        {
            try { if (!HasExited) Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            base.Dispose(disposing);
        }
    }

    static int FreeLoopbackPort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    [Fact]
    public void ContentRoot_StartedElsewhere_IsTheBuildOutputWhereAppsettingsLives()
    {
        using var elsewhere = new TempDir();
        using var output = new TempDir();
        File.WriteAllText(output.File("appsettings.json"), "{}");

        Assert.Equal(output.Path, Gmsa.Api.Hosting.ContentRoot.Find(elsewhere.Path, output.Path, []));
        Assert.Null(Gmsa.Api.Hosting.ContentRoot.Find(output.Path, output.Path, []));                              // started beside it
        Assert.Null(Gmsa.Api.Hosting.ContentRoot.Find(elsewhere.Path, output.Path, ["--contentRoot=/srv"]));        // the host chose
        Assert.Null(Gmsa.Api.Hosting.ContentRoot.Find(elsewhere.Path, elsewhere.Path, []));                         // nowhere to go
    }

    [Fact]
    public async Task Process_OutOfRangeServingSetting_ExitsWithOneLineNamingTheField()
    {
        using var temp = new TempDir();
        var (exitCode, lines) = await RunServiceAsync(temp.Path, $"--Gmsa:Model:Path={stories.Require()}", "--Gmsa:Serving:MaxBatchSize=0");

        Assert.Equal(1, exitCode);
        Assert.Contains("MaxBatchSize", Assert.Single(lines));
    }

    [Theory]
    [InlineData("--Gmsa:Serving:Batching=Weird", "Gmsa:Serving:Batching is 'Weird', but it takes one of Continuous, Static")]
    [InlineData("--Gmsa:Compression:MaxCachedBytes=999999999999", "Gmsa:Compression:MaxCachedBytes is '999999999999', but it takes a whole number from 1024 to 2147483647 (set as ")]
    [InlineData("--Gmsa:Serving:MaxNewTokens=lots", "Gmsa:Serving:MaxNewTokens is 'lots', but it takes a whole number from 1 to 1000000 (set as ")]   // said from -2147483648
    [InlineData("--Gmsa:Logging:Json=maybe", "Gmsa:Logging:Json is 'maybe', but it takes true or false")]
    [InlineData("--Gmsa:Access:RequestTimeoutSeconds=-5", "Gmsa:Access:RequestTimeoutSeconds is '-5', but it takes a whole number from 0 to 86400 " +
                                                          "(set as Gmsa:Access:RequestTimeoutSeconds in appsettings.json, --Gmsa:Access:RequestTimeoutSeconds=..., or Gmsa__Access__RequestTimeoutSeconds)")]   // read while the pipeline is built
    [InlineData("--Gmsa:Access:DrainSeconds=900", "Gmsa:Access:DrainSeconds is '900', but it takes a whole number from 0 to 300 (set as ")]   // said "The field DrainSeconds must be..."
    [InlineData("--Gmsa:Model:Device=cuda", "device 'cuda' asked for, but this build's libtorch sees no CUDA GPU")]        // thrown while the model loads
    [InlineData("--Gmsa:Compression:Compressor=no-such-compressor", "no compressor in")]
    [InlineData("--Gmsa:Access:ApiKeys:0=", "Gmsa:Access:ApiKeys:0 is empty")]                                     // would leave the API open
    [InlineData("--Gmsa:Access:RequestsPerMinut=10", "Gmsa:Access:RequestsPerMinut is not a setting (did you mean Gmsa:Access:RequestsPerMinute?)")]   // was ignored
    public async Task Process_SettingOfTheWrongTypeOrRange_ExitsWithOneLineSayingWhatItTakes(string setting, string expected)
    {
        if (setting.Contains("Device=cuda") && TorchSharp.torch.cuda.is_available()) Assert.Skip("this machine has a CUDA GPU: the service would start");
        using var temp = new TempDir();
        var (exitCode, lines) = await RunServiceAsync(temp.Path, $"--Gmsa:Model:Path={stories.Require()}", setting);

        Assert.Equal(1, exitCode);
        Assert.Contains(expected, Assert.Single(lines));
    }

    [Fact]
    public async Task Process_AddressAlreadyInUse_ExitsWithOneLineSayingWhatToDo()
    {
        using var temp = new TempDir();
        using var taken = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        taken.Start();
        int port = ((System.Net.IPEndPoint)taken.LocalEndpoint).Port;
        var (exitCode, lines) = await RunServiceAsync(temp.Path, $"--Gmsa:Model:Path={stories.Require()}", $"--urls=http://127.0.0.1:{port}");

        Assert.Equal(1, exitCode);
        Assert.Contains(lines, l => l.Contains("Gmsa cannot start") && l.Contains("address already in use") && l.Contains("--urls"));
        Assert.DoesNotContain(lines, l => l.StartsWith("at ", StringComparison.Ordinal) || l.Contains("Exception"));   // no stack trace
    }

    [Theory]
    [InlineData("model.safetensors", "not a tensor file at all", "model.safetensors' is not a safetensors file")]
    [InlineData("tokenizer.model", "not a protobuf", "tokenizer.model' is not a SentencePiece model")]
    [InlineData("config.json", "{ \"dim\": ", "config.json")]
    [InlineData("tokenizer_config.json", "{ \"bos_token\": ", "tokenizer_config.json' is not valid JSON")]   // threw a bare JsonException
    public async Task Process_ModelFolderWithACorruptFile_ExitsWithOneLineNamingTheFile(string file, string content, string expected)
    {
        // the folder passes the start-up check (it has a config.json); loading it threw, unhandled, with signal 6
        using var temp = new TempDir();
        var model = Directory.CreateDirectory(temp.File("model")).FullName;
        foreach (var f in Directory.GetFiles(stories.Require())) File.Copy(f, Path.Combine(model, Path.GetFileName(f)));
        File.WriteAllText(Path.Combine(model, file), content);
        var (exitCode, lines) = await RunServiceAsync(temp.Path, $"--Gmsa:Model:Path={model}");

        Assert.Equal(1, exitCode);
        Assert.Contains(lines, l => l.Contains("Gmsa cannot start") && l.Contains(expected));
        Assert.DoesNotContain(lines, l => l.StartsWith("at ", StringComparison.Ordinal) || l.Contains("Unhandled exception"));
    }

    [Fact]
    public void ServingOptionsValidator_DefaultMaxTokensAboveCap_FailsNamingTheRule()
    {
        var result = new ServingOptionsValidator().Validate(null, new ServingOptions { MaxNewTokens = 32, DefaultMaxTokens = 64 });

        Assert.True(result.Failed);
        Assert.Contains("Gmsa:Serving:DefaultMaxTokens (64) exceeds Gmsa:Serving:MaxNewTokens (32)", result.FailureMessage);   // said "Gmsa:Serving: DefaultMaxTokens"
        Assert.Contains("Gmsa__Serving__DefaultMaxTokens", result.FailureMessage);
        Assert.True(new ServingOptionsValidator().Validate(null, new ServingOptions()).Succeeded);
    }

    [Theory]
    [InlineData("release-7", true)]
    [InlineData("run 12", false)]                               // a space
    [InlineData("v1\nv2", false)]                               // a line break would split the id's key
    public void CompressionOptions_WeightsVersion_IsOnePrintableWord(string version, bool valid)
    {
        var options = new CompressionOptions { WeightsVersion = version };
        var errors = new List<System.ComponentModel.DataAnnotations.ValidationResult>();

        Assert.Equal(valid, System.ComponentModel.DataAnnotations.Validator.TryValidateObject(options, new(options), errors, validateAllProperties: true));
        if (!valid) Assert.Contains("WeightsVersion", Assert.Single(errors).ErrorMessage);
    }

    public static TheoryData<object, string> OptionsOutOfRange() => new()
    {
        { new AccessOptions { RequestsPerMinute = -1 }, "Gmsa:Access:RequestsPerMinute is '-1', but it takes a whole number from 0 to 1000000 (set as Gmsa:Access:RequestsPerMinute in appsettings.json, --Gmsa:Access:RequestsPerMinute=..., or Gmsa__Access__RequestsPerMinute)" },
        { new AccessOptions { DrainSeconds = 301 }, "Gmsa:Access:DrainSeconds is '301', but it takes a whole number from 0 to 300 (set as " },
        { new AccessOptions { ApiKeys = ["k", " "] }, "Gmsa:Access:ApiKeys:1 is empty: set the key, or remove the entry to leave the API open" },
        { new ServingOptions { RetryAfterSeconds = 0 }, "Gmsa:Serving:RetryAfterSeconds is '0', but it takes a whole number from 1 to 3600 (set as " },
        { new CompressionOptions { CacheBytes = 10 }, "Gmsa:Compression:CacheBytes is '10', but it takes a whole number from 1024 to 9223372036854775807 (set as " },
        { new ModelOptions { Device = "gpu" }, "Gmsa:Model:Device is 'gpu': Device must be auto, cpu, cuda or cuda:N (set as Gmsa:Model:Device in appsettings.json" },
    };

    [Theory]
    [MemberData(nameof(OptionsOutOfRange))]
    public void SettingsValidator_ValueOutOfItsRange_SaysThePathWhatItTakesAndWhereToSetIt(object options, string expected)
    {
        // ValidateDataAnnotations said "The field DrainSeconds must be between 0 and 300." for every options class: no section, no place to set it
        var validator = Activator.CreateInstance(typeof(SettingsValidator<>).MakeGenericType(options.GetType()))!;
        var result = (Microsoft.Extensions.Options.ValidateOptionsResult)validator.GetType().GetMethod("Validate")!.Invoke(validator, [null, options])!;

        Assert.True(result.Failed);
        Assert.StartsWith(expected, Assert.Single(result.Failures!));
    }

    [Fact]
    public void CompressionOptionsValidator_PayloadBoundAboveCacheBound_FailsNamingBoth()
    {
        var result = new CompressionOptionsValidator().Validate(null, new CompressionOptions { CacheBytes = 4096, MaxCachedBytes = 8192 });

        Assert.True(result.Failed);
        Assert.Contains("Gmsa:Compression:MaxCachedBytes (8192) exceeds Gmsa:Compression:CacheBytes (4096)", result.FailureMessage);
    }

    [Theory]
    [InlineData(16 << 20, 512L << 20, 0.05)]                   // the defaults: the library's 5 % already holds a 16 MB payload
    [InlineData(40_000, 100_000L, 0.4)]
    [InlineData(8192, 8192L, 1.0)]
    public void CompressionOptions_CompactionShare_CoversTheLargestPayload(int maxCached, long cacheBytes, double share) =>
        Assert.Equal(share, new CompressionOptions { MaxCachedBytes = maxCached, CacheBytes = cacheBytes }.CompactionShare, 1e-12);

    [Fact]
    public void ServingOptionsValidator_BatchLargerThanCapacity_Fails()
    {
        var result = new ServingOptionsValidator().Validate(null, new ServingOptions { MaxQueuedRequests = 2, MaxBatchSize = 4 });

        Assert.True(result.Failed);
        Assert.Contains("Gmsa:Serving:MaxBatchSize (4) exceeds Gmsa:Serving:MaxQueuedRequests (2)", result.FailureMessage);
    }

    [Fact]
    public void ModelFolderValidator_FolderWithoutConfig_FailsSayingSo()
    {
        using var temp = new TempDir();
        var result = new ModelFolderValidator().Validate(null, new ModelOptions { Path = temp.Path });

        Assert.True(result.Failed);
        Assert.Contains($"'{temp.Path}' has no config.json", result.FailureMessage);
        Assert.True(new ModelFolderValidator().Validate(null, new ModelOptions { Path = stories.Require() }).Succeeded);
    }

    [Fact]
    public void ModelFolder_RelativePath_IsFoundAboveTheContentRoot()
    {
        using var temp = new TempDir();
        var model = Directory.CreateDirectory(Path.Combine(temp.Path, "models", "tiny")).FullName;
        var contentRoot = Directory.CreateDirectory(Path.Combine(temp.Path, "src", "Gmsa.Api")).FullName;

        Assert.Equal(model, ModelFolder.Resolve("models/tiny", contentRoot));
        Assert.Equal(Path.Combine(contentRoot, "models", "absent"), ModelFolder.Resolve("models/absent", contentRoot));
        Assert.Equal(model, ModelFolder.Resolve(model, "/"));
    }

    /// <summary>Runs the built service (at most 60 s) and returns its exit code and non-empty console lines.</summary>
    static async Task<(int ExitCode, string[] Lines)> RunServiceAsync(string workingDirectory, params string[] arguments)
    {
        var run = await DllProcess.RunAsync("Gmsa.Api.dll", workingDirectory, ["--urls=http://127.0.0.1:0", .. arguments], TimeSpan.FromSeconds(60));
        return (run.ExitCode, [.. run.Out, .. run.Errors]);
    }
}
