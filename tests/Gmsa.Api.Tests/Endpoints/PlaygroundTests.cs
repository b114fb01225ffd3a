using System.Net;
using Gmsa.Api.Tests.Infrastructure;

namespace Gmsa.Api.Tests.Endpoints;

/// <summary>The playground at / in a real browser (headless chromium) against the service on a loopback Kestrel.</summary>
public sealed class PlaygroundTests : IDisposable
{
    readonly ApiFactory factory = new ApiFactory(modelDir: null).StartOnLoopback();
    static CancellationToken Token => TestContext.Current.CancellationToken;
    static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Root_ServesThePlaygroundPage()
    {
        var response = await factory.CreateClient().GetAsync("/", Token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("Gmsa playground", await response.Content.ReadAsStringAsync(Token));
    }

    [Fact]
    public async Task Playground_CompressReconstructAndAskBothWays_InAHeadlessBrowser()
    {
        await using var browser = await HeadlessChromium.StartAsync(Token);
        var root = factory.CreateClient().BaseAddress!;
        await browser.NavigateAsync(new Uri(root, "/").ToString(), Token);
        await browser.WaitForAsync("document.readyState === 'complete' && !!document.getElementById('compress')", Bound, Token);

        const string document = "The capital of Chad is N'Djamena. The population of Chad is 11,631,456 (July 2015 est.). The currency of Chad is the Central African CFA franc.";
        await browser.EvaluateAsync($"document.getElementById('document').value = {System.Text.Json.JsonSerializer.Serialize(document)}; " +
                                    "document.getElementById('rate').value = '4'; document.getElementById('compress').click(); true", Token);
        await browser.WaitForAsync("document.getElementById('compressed').textContent.length > 0 || document.getElementById('error').textContent.length > 0", Bound, Token);
        Assert.Equal("", (string?)await browser.EvaluateAsync("document.getElementById('error').textContent", Token));
        Assert.Contains("tokens in", (string?)await browser.EvaluateAsync("document.getElementById('compressed').textContent", Token));

        await browser.EvaluateAsync("document.getElementById('reconstruct').click(); true", Token);
        await browser.WaitForAsync("document.getElementById('reconstruction').textContent.length > 0", Bound, Token);
        await browser.EvaluateAsync("document.getElementById('ask').click(); true", Token);
        await browser.WaitForAsync("document.getElementById('latency-full').textContent.length > 0 || document.getElementById('error').textContent.length > 0", Bound, Token);
        Assert.Equal("", (string?)await browser.EvaluateAsync("document.getElementById('error').textContent", Token));
        Assert.Contains(" ms", (string?)await browser.EvaluateAsync("document.getElementById('latency-soft').textContent", Token));

        var png = await browser.ScreenshotAsync(Token);
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png[..4]);
        var path = Path.Combine(AppContext.BaseDirectory, "playground.png");
        await File.WriteAllBytesAsync(path, png, Token);
        TestContext.Current.SendDiagnosticMessage($"playground screenshot: {path}");
    }

    public void Dispose() => factory.Dispose();
}
