using System.Diagnostics;
using System.Text.Json;
using Gmsa.Api.Tests.Infrastructure;
using Gmsa.Engine.Tests;

namespace Gmsa.Api.Tests.Endpoints;

/// <summary>
/// The official OpenAI clients, unchanged, against the service on a loopback Kestrel with an API key: models, chat (string
/// and array-of-parts content) with and without Gmsa's documents extension, streams, completions with n, and the errors
/// the client raises. Node: npm `openai`, pinned in tests/clients/openai-node. Python: the `openai` package that python3
/// (or $GMSA_PYTHON) imports. Each skips with the reason where its runtime or package is missing.
/// </summary>
public sealed class OpenAiClientTests : IDisposable
{
    const string Key = "openai-client-key";
    static readonly string NodeDir = RepoFiles.Path("tests/clients/openai-node");
    static readonly string PythonDir = RepoFiles.Path("tests/clients/openai-python");
    readonly ApiFactory factory = new ApiFactory(modelDir: null, ("Gmsa:Access:ApiKeys:0", Key)).StartOnLoopback();
    static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task OfficialNodeClient_EveryCallShape_ParsedByTheClientAsOpenAis()
    {
        if (!File.Exists(Path.Combine(NodeDir, "node_modules", "openai", "package.json")))
            Assert.Skip("the OpenAI Node client is not installed: npm ci --prefix tests/clients/openai-node (.ci/run does it)");
        AssertEveryCallShape(await RunClientAsync("node", NodeDir, "check.mjs",
            "node is not installed (Debian packages nodejs and npm; .ci/run installs them)"));
    }

    [Fact]
    public async Task OfficialPythonClient_EveryCallShape_ParsedByTheClientAsOpenAis()
    {
        string python = Environment.GetEnvironmentVariable("GMSA_PYTHON") ?? "python3";
        if (!await ImportsOpenAiAsync(python))
            Assert.Skip($"{python} cannot import the OpenAI Python client (pip install openai, or point GMSA_PYTHON and PYTHONPATH at one)");
        AssertEveryCallShape(await RunClientAsync(python, PythonDir, "check.py", $"{python} is not installed"));
    }

    static void AssertEveryCallShape(JsonElement r)
    {
        Assert.Contains("gmsa-tiny", r.GetProperty("models").GetProperty("ids").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("model", r.GetProperty("models").GetProperty("object").GetString());

        var chat = r.GetProperty("chat");
        Assert.Equal("chat.completion", chat.GetProperty("object").GetString());
        Assert.Equal("assistant", chat.GetProperty("role").GetString());
        Assert.False(string.IsNullOrEmpty(chat.GetProperty("content").GetString()));
        Assert.True(chat.GetProperty("total_tokens").GetInt32() > 8);

        // Content as an array of text parts is the same conversation as the string.
        var parts = r.GetProperty("chat_parts");
        Assert.Equal(chat.GetProperty("content").GetString(), parts.GetProperty("content").GetString());
        Assert.Equal(chat.GetProperty("total_tokens").GetInt32(), parts.GetProperty("total_tokens").GetInt32());

        // The documents are read compressed: the prompt counts their soft tokens, not their text's tokens.
        var documents = r.GetProperty("chat_documents");
        Assert.False(string.IsNullOrEmpty(documents.GetProperty("content").GetString()), documents.ToString());
        Assert.True(documents.GetProperty("prompt_tokens").GetInt32() > chat.GetProperty("total_tokens").GetInt32() - 8);

        // Greedy, so the streamed text is the one the plain call gave, pieced together by the client from the chunks.
        var stream = r.GetProperty("chat_stream");
        Assert.Equal(chat.GetProperty("content").GetString(), stream.GetProperty("content").GetString());
        Assert.True(stream.GetProperty("chunks").GetInt32() >= 2);
        Assert.Equal(chat.GetProperty("finish_reason").GetString(), stream.GetProperty("finish_reason").GetString());
        Assert.Equal(chat.GetProperty("total_tokens").GetInt32(), stream.GetProperty("total_tokens").GetInt32());   // stream_options.include_usage

        var completions = r.GetProperty("completions");
        Assert.Equal("text_completion", completions.GetProperty("object").GetString());
        Assert.Equal([0, 1], completions.GetProperty("choices").EnumerateArray().Select(c => c.GetProperty("index").GetInt32()));
        Assert.False(string.IsNullOrEmpty(r.GetProperty("completions_stream").GetProperty("text").GetString()));
        var prompts = r.GetProperty("completions_prompts");   // an array of prompts, as batching clients send it
        Assert.Equal([0, 1], prompts.GetProperty("choices").EnumerateArray().Select(c => c.GetProperty("index").GetInt32()));
        Assert.All(prompts.GetProperty("choices").EnumerateArray(), c => Assert.False(string.IsNullOrEmpty(c.GetProperty("text").GetString())));

        var wrongKey = r.GetProperty("wrong_key");
        Assert.Equal("AuthenticationError", wrongKey.GetProperty("thrown").GetString());
        Assert.Equal(401, wrongKey.GetProperty("status").GetInt32());
        Assert.Contains("API key", wrongKey.GetProperty("error").GetProperty("message").GetString());

        var bad = r.GetProperty("bad_request");
        Assert.Equal("BadRequestError", bad.GetProperty("thrown").GetString());
        Assert.Equal(400, bad.GetProperty("status").GetInt32());
        Assert.Contains("max_tokens", bad.GetProperty("error").GetProperty("message").GetString());
    }

    /// <summary>Runs a client's check script against the service and parses the one JSON object it prints (at most 2 min).</summary>
    async Task<JsonElement> RunClientAsync(string runtime, string directory, string script, string missingRuntime)
    {
        var info = new ProcessStartInfo(runtime) { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(script);
        info.ArgumentList.Add(new Uri(factory.CreateClient().BaseAddress!, "/v1").ToString());
        info.ArgumentList.Add(Key);
        Process run;
        try { run = Process.Start(info)!; }
        catch (System.ComponentModel.Win32Exception) { Assert.Skip(missingRuntime); throw; }
        using var _ = run;
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(Token);
        bound.CancelAfter(TimeSpan.FromMinutes(2));
        var output = run.StandardOutput.ReadToEndAsync(bound.Token);
        var errors = run.StandardError.ReadToEndAsync(bound.Token);
        try { await run.WaitForExitAsync(bound.Token); }
        catch (OperationCanceledException) { run.Kill(entireProcessTree: true); throw; }
        Assert.True(run.ExitCode == 0, $"{runtime} {script} exited {run.ExitCode}: {await errors}");
        TestContext.Current.SendDiagnosticMessage($"OpenAI client ({runtime}): {await output}");
        return JsonDocument.Parse(await output).RootElement;
    }

    /// <summary>Whether <paramref name="python"/> exists and imports the openai package.</summary>
    static async Task<bool> ImportsOpenAiAsync(string python)
    {
        var info = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add("import openai");
        try
        {
            using var probe = Process.Start(info)!;
            using var bound = CancellationTokenSource.CreateLinkedTokenSource(Token);
            bound.CancelAfter(TimeSpan.FromSeconds(30));
            await probe.WaitForExitAsync(bound.Token);
            return probe.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception) { return false; }
    }

    public void Dispose() => factory.Dispose();
}
