using System.Diagnostics;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;

namespace Gmsa.Api.Tests.Infrastructure;

/// <summary>
/// Debian's chromium, headless, driven through the DevTools protocol over its WebSocket: navigate, evaluate script
/// in the page, take screenshots. Skips the test with a message when chromium is absent or does not start.
/// </summary>
public sealed class HeadlessChromium : IAsyncDisposable
{
    readonly Process process;
    readonly string profile;
    readonly ClientWebSocket socket = new();
    int nextId;

    HeadlessChromium(Process process, string profile)
    {
        this.process = process;
        this.profile = profile;
    }

    public static async Task<HeadlessChromium> StartAsync(CancellationToken cancellation)
    {
        var binary = new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome" }.FirstOrDefault(File.Exists);
        if (binary is null) Assert.Skip("chromium is not installed (Debian package chromium)");
        var profile = Directory.CreateTempSubdirectory("gmsa-chromium-").FullName;
        var info = new ProcessStartInfo(binary) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in new[] { "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                     "--window-size=1200,1400", "--remote-debugging-port=0", $"--user-data-dir={profile}", "about:blank" })
            info.ArgumentList.Add(a);
        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var browser = new HeadlessChromium(process, profile);
        var portFile = Path.Combine(profile, "DevToolsActivePort");
        var clock = Stopwatch.StartNew();
        while (!File.Exists(portFile) || new FileInfo(portFile).Length == 0)
        {
            if (process.HasExited || clock.Elapsed > TimeSpan.FromSeconds(30))
            {
                await browser.DisposeAsync();
                Assert.Skip("chromium did not open its DevTools port within 30 s");
            }
            await Task.Delay(100, cancellation);
        }
        int port = int.Parse(File.ReadAllLines(portFile)[0]);
        using var http = new HttpClient();
        var targets = await http.GetFromJsonAsync<JsonArray>($"http://127.0.0.1:{port}/json/list", cancellation);
        var page = targets!.First(t => (string?)t!["type"] == "page")!;
        await browser.socket.ConnectAsync(new Uri((string)page["webSocketDebuggerUrl"]!), cancellation);
        return browser;
    }

    /// <summary>Sends one DevTools command and returns its result (events in between are skipped).</summary>
    public async Task<JsonNode> SendAsync(string method, JsonObject? parameters, CancellationToken cancellation)
    {
        int id = Interlocked.Increment(ref nextId);
        var message = new JsonObject { ["id"] = id, ["method"] = method, ["params"] = parameters ?? new JsonObject() };
        await socket.SendAsync(Encoding.UTF8.GetBytes(message.ToJsonString()), WebSocketMessageType.Text, true, cancellation);
        var buffer = new byte[1 << 20];
        while (true)
        {
            using var received = new MemoryStream();
            WebSocketReceiveResult result;
            do
            {
                result = await socket.ReceiveAsync(buffer, cancellation);
                received.Write(buffer, 0, result.Count);
            } while (!result.EndOfMessage);
            var reply = JsonNode.Parse(received.ToArray())!;
            if ((int?)reply["id"] != id) continue;
            if (reply["error"] is { } error) throw new InvalidOperationException($"{method}: {error}");
            return reply["result"]!;
        }
    }

    public Task NavigateAsync(string url, CancellationToken cancellation) =>
        SendAsync("Page.navigate", new JsonObject { ["url"] = url }, cancellation);

    /// <summary>Evaluates <paramref name="expression"/> in the page (promises awaited) and returns its value.</summary>
    public async Task<JsonNode?> EvaluateAsync(string expression, CancellationToken cancellation)
    {
        var result = await SendAsync("Runtime.evaluate", new JsonObject { ["expression"] = expression, ["awaitPromise"] = true, ["returnByValue"] = true }, cancellation);
        if (result["exceptionDetails"] is { } exception) throw new InvalidOperationException($"script failed: {exception}");
        return result["result"]!["value"];
    }

    /// <summary>Polls <paramref name="condition"/> (a script returning a boolean) until true, or fails after <paramref name="timeout"/>.</summary>
    public async Task WaitForAsync(string condition, TimeSpan timeout, CancellationToken cancellation)
    {
        var clock = Stopwatch.StartNew();
        while (!((bool?)await EvaluateAsync(condition, cancellation) ?? false))
        {
            if (clock.Elapsed > timeout) Assert.Fail($"the page never met: {condition}");
            await Task.Delay(100, cancellation);
        }
    }

    public async Task<byte[]> ScreenshotAsync(CancellationToken cancellation) =>
        Convert.FromBase64String((string)(await SendAsync("Page.captureScreenshot", new JsonObject { ["format"] = "png", ["captureBeyondViewport"] = true }, cancellation))["data"]!);

    public async ValueTask DisposeAsync()
    {
        try { if (socket.State == WebSocketState.Open) await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None); }
        catch (WebSocketException) { }
        socket.Dispose();
        try { process.Kill(entireProcessTree: true); process.WaitForExit(10_000); } catch (InvalidOperationException) { }
        process.Dispose();
        try { Directory.Delete(profile, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
