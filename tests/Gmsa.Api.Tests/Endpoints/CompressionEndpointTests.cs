using System.Buffers.Binary;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gmsa.Api.Hosting;
using Gmsa.Api.Tests.Infrastructure;
using Gmsa.Engine.Checkpoints;
using Gmsa.Engine.Compression;
using Gmsa.Engine.Generation;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.DependencyInjection;
using static TorchSharp.torch;

namespace Gmsa.Api.Tests.Endpoints;

/// <summary>/v1/compress, /v1/answer and /v1/reconstruct on the embedded gmsa-tiny and its shipped compressor.</summary>
public sealed class CompressionEndpointTests : IDisposable
{
    readonly ApiFactory factory = new(modelDir: null);
    static CancellationToken Token => TestContext.Current.CancellationToken;

    internal const string Chad = "The capital of Chad is N'Djamena. The population of Chad is 11,631,456 (July 2015 est.). The currency of Chad is the Central African CFA franc.";
    internal const string Ship = "It was a cold morning in the village, and the ship sailed before the sun was up.";

    GmsaModel Gmsa => ModelOf(factory);

    static GmsaModel ModelOf(ApiFactory service) => service.Services.GetRequiredService<CompressionHost>().Service!.Gmsa;

    Task<HttpResponseMessage> Post(string route, string json, ApiFactory? service = null) =>
        (service ?? factory).CreateClient().PostAsync(route, new StringContent(json, Encoding.UTF8, "application/json"), Token);

    internal static float[] Floats(JsonNode embedding) => embedding.AsArray().SelectMany(row => row!.AsArray().Select(v => (float)v!)).ToArray();

    Task<SoftTokenData[]> EngineAsync(params string[] contexts) => EngineAsync(Gmsa, contexts);

    static async Task<SoftTokenData[]> EngineAsync(GmsaModel model, params string[] contexts) =>
        (await model.CompressToDataAsync(contexts.Select(model.EncodeContext).ToArray(), contexts.Select(_ => 4).ToArray(), Token)).ToArray();

    [Fact]
    public async Task Models_DecoderWithAdapters_CountsTheCheckpointsParametersOnly()
    {
        var model = (await (await factory.CreateClient().GetAsync("/v1/models", Token)).JsonAsync())["data"]![0]!;
        long checkpoint = SafeTensors.ReadHeader(Path.Combine(factory.Model.Directory, "model.safetensors")).Values.Sum(t => t.NumElements);

        long all = factory.Model.Runner.Run(() => factory.Model.Model.parameters().Sum(p => p.numel()));
        Assert.True(all > checkpoint);          // the decoder carries the compressor's answer adapter
        Assert.Equal(checkpoint, (long)model["parameters"]!);
    }

    [Fact]
    public async Task Compress_Json_ShapesCountsAndValuesOfTheEngine()
    {
        // bf16 sums depend on the batch a context is encoded in, so the batcher must make the batch the engine call
        // below makes: dispatch at two contexts, and wait for the second however loaded the machine (with the default
        // 5 ms, a full test suite once split the request's two contexts into two batches, one bf16 step apart)
        using var pairs = new ApiFactory(modelDir: null,
            ("Gmsa:Compression:MaxBatchContexts", "2"), ("Gmsa:Compression:MaxWaitMilliseconds", "10000"));
        var response = await Post("/v1/compress", $$"""{"contexts": ["{{Chad}}", "{{Ship}}"], "rate": 4}""", pairs);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.JsonAsync();
        var engine = await EngineAsync(ModelOf(pairs), Chad, Ship);   // the same two contexts in one encoder call, on the same loaded model

        Assert.Equal(4, (int)body["rate"]!);
        var data = body["data"]!.AsArray();
        for (int i = 0; i < 2; i++)
        {
            var item = data[i]!;
            Assert.StartsWith("cmp-", (string)item["compressed_id"]!);
            Assert.Equal([engine[i].Count, 384], item["shape"]!.AsArray().Select(v => (int)v!));
            Assert.Equal(engine[i].ContextTokens, (int)item["tokens_in"]!);
            Assert.Equal(engine[i].Count, (int)item["tokens_out"]!);
            Assert.Equal(engine[i].ToFloat32(), Floats(item["embedding"]!));
        }
        Assert.NotEqual((string)data[0]!["compressed_id"]!, (string)data[1]!["compressed_id"]!);
    }

    [Fact]
    public async Task Compress_EveryFormat_ReadsBackToTheSameValues()
    {
        var expected = (await EngineAsync(Chad))[0];
        async Task<byte[]> Bytes(string format) =>
            await (await Post("/v1/compress", $$"""{"contexts": ["{{Chad}}"], "rate": 4, "format": "{{format}}"}""")).Content.ReadAsByteArrayAsync(Token);
        string Data(byte[] json) => (string)JsonNode.Parse(json)!["data"]![0]!["data"]!;

        var f32 = Convert.FromBase64String(Data(await Bytes("base64-float32")));
        Assert.Equal(expected.ToFloat32(), Enumerable.Range(0, f32.Length / 4).Select(i => BinaryPrimitives.ReadSingleLittleEndian(f32.AsSpan(4 * i))));
        Assert.Equal(expected.Raw, Convert.FromBase64String(Data(await Bytes("base64-bfloat16"))));   // the decoder's own bf16 bits

        var npy = await Bytes("npy");
        int header = BinaryPrimitives.ReadUInt16LittleEndian(npy.AsSpan(8));
        Assert.Contains($"'shape': ({expected.Count}, 384)", Encoding.ASCII.GetString(npy, 10, header));
        Assert.Equal(0, (10 + header) % 64);
        Assert.Equal(expected.ToFloat32(), Enumerable.Range(0, expected.Count * 384).Select(i => BinaryPrimitives.ReadSingleLittleEndian(npy.AsSpan(10 + header + 4 * i))));

        var file = Path.GetTempFileName();
        try
        {
            await File.WriteAllBytesAsync(file, await Bytes("safetensors"), Token);
            using var scope = NewDisposeScope();
            var tensors = SafeTensors.Load(file);
            Assert.Equal(expected.Raw, tensors["soft_tokens.0"].bytes.ToArray());
            Assert.Equal("4", SafeTensors.ReadMetadata(file)["rate"]);
            // The file is one `gmsa answer --soft` reads: the engine's loader takes it as the context it came from.
            var gmsa = factory.Services.GetRequiredService<CompressionHost>().Service!.Gmsa;
            using var read = Assert.Single(SoftTokenFile.Load(file, gmsa.Config.BaseModel, 384, CPU));
            Assert.Equal((expected.ContextTokens, 4), (read.ContextTokens, read.Rate));
            Assert.Equal(expected.Raw, read.Embeddings.bytes.ToArray());
        }
        finally { File.Delete(file); }
    }

    [Fact]
    public async Task Compress_SameContextTwice_SecondIsACacheHitThatSkipsTheEncoder()
    {
        var batcher = factory.Services.GetRequiredService<CompressionHost>().Service!.Batcher;
        int encoderContexts = 0;
        batcher.BatchCompressed += (n, _) => Interlocked.Add(ref encoderContexts, n);
        var first = (await (await Post("/v1/compress", $$"""{"contexts": ["{{Ship}}"]}""")).JsonAsync())["data"]![0]!;
        var second = (await (await Post("/v1/compress", $$"""{"contexts": ["{{Ship}}"]}""")).JsonAsync())["data"]![0]!;

        Assert.False((bool)first["cached"]!);
        Assert.True((bool)second["cached"]!);
        Assert.Equal((string)first["compressed_id"]!, (string)second["compressed_id"]!);
        Assert.Equal(1, encoderContexts);
    }

    [Fact]
    public async Task Compress_AfterItsIdWasAskedForUnknown_CompressesInsteadOfReadingAMiss()
    {
        // A client holding an expired id gets 404, then compresses the context again: the miss must not have been cached.
        var service = factory.Services.GetRequiredService<CompressionHost>().Service!;
        string id = service.IdFor(Ship + " Again.", 4);
        var unknown = await Post("/v1/answer", $$"""{"compressed_ids": ["{{id}}"], "question": " Where?", "max_tokens": 2}""");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);

        var compressed = await Post("/v1/compress", $$"""{"contexts": ["{{Ship}} Again."], "rate": 4}""");
        Assert.Equal(HttpStatusCode.OK, compressed.StatusCode);
        var item = (await compressed.JsonAsync())["data"]![0]!;
        Assert.Equal(id, (string)item["compressed_id"]!);
        Assert.False((bool)item["cached"]!);
        Assert.True((int)item["tokens_out"]! > 0);
    }

    [Fact]
    public async Task Answer_ByCompressedId_EqualsByTextAndTheEnginesAnswer()
    {
        const string question = " Question: What is the capital of Chad? Answer:";
        var id = (string)(await (await Post("/v1/compress", $$"""{"contexts": ["{{Chad}}"], "rate": 4}""")).JsonAsync())["data"]![0]!["compressed_id"]!;
        var byId = await (await Post("/v1/answer", $$"""{"compressed_ids": ["{{id}}"], "question": "{{question}}", "max_tokens": 12}""")).JsonAsync();
        var byText = await (await Post("/v1/answer", $$"""{"contexts": ["{{Chad}}"], "rate": 4, "question": "{{question}}", "max_tokens": 12}""")).JsonAsync();

        Assert.Equal((string)byText["text"]!, (string)byId["text"]!);
        Assert.Equal(1, (int)byId["compression"]!["cache_hits"]!);
        Assert.Equal(0.0, (double)byId["compression"]!["compression_ms"]!);
        var soft = await Gmsa.CompressAsync([Gmsa.EncodeContext(Chad)], 4, Token);
        var sampling = Gmsa.Language.Generation.Resolve(temperature: 0) with { MaxNewTokens = 12 };
        var engine = await Gmsa.GenerateAsync(soft, [Gmsa.EncodePrompt(question)], sampling, cancellation: Token);
        Assert.Equal(engine.Texts[0], (string)byId["text"]!);
        Assert.Equal(soft[0].Count + Gmsa.EncodePrompt(question).Count, (int)byId["usage"]!["prompt_tokens"]!);
    }

    [Fact]
    public async Task Reconstruct_CompressedId_RestatesWithTheRestateAdapterAsTheEngineDoes()
    {
        var id = (string)(await (await Post("/v1/compress", $$"""{"contexts": ["{{Ship}}"], "rate": 2}""")).JsonAsync())["data"]![0]!["compressed_id"]!;
        var response = await Post("/v1/reconstruct", $$"""{"compressed_id": "{{id}}", "max_tokens": 24}""");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.JsonAsync();
        Assert.True((int)body["usage"]!["completion_tokens"]! > 0);

        // The shipped compressor answers with one decoder adapter and restates with another; the service picks as the engine does.
        Assert.True(Gmsa.HasRestateAdapter);
        var soft = await Gmsa.CompressAsync([Gmsa.EncodeContext(Ship)], 2, Token);
        var sampling = Gmsa.Language.Generation.Resolve(temperature: 0) with { MaxNewTokens = 24 };
        var engine = await Gmsa.ReconstructAsync(soft, sampling, Token);
        var withAnswerAdapter = await Gmsa.GenerateAsync(soft, [Gmsa.EncodePrompt(Gmsa.Config.AutoencoderPrompt)], sampling, cancellation: Token);
        Assert.Equal(engine.Texts[0], (string)body["text"]!);
        Assert.NotEqual(withAnswerAdapter.Texts[0], engine.Texts[0]);
        soft[0].Dispose();
    }

    [Theory]
    [InlineData("/v1/answer", """{"compressed_ids": ["cmp-0123456789abcdef0123456789abcdef"], "question": "Q"}""", HttpStatusCode.NotFound)]
    [InlineData("/v1/answer", """{"question": "Q"}""", HttpStatusCode.BadRequest)]
    [InlineData("/v1/answer", """{"contexts": ["a"], "compressed_ids": ["b"], "question": "Q"}""", HttpStatusCode.BadRequest)]
    [InlineData("/v1/answer", """{"contexts": ["a"]}""", HttpStatusCode.BadRequest)]
    [InlineData("/v1/compress", """{"contexts": []}""", HttpStatusCode.BadRequest)]
    [InlineData("/v1/compress", """{"contexts": [""]}""", HttpStatusCode.BadRequest)]
    [InlineData("/v1/compress", """{"contexts": ["a"], "rate": 0}""", HttpStatusCode.BadRequest)]
    [InlineData("/v1/compress", """{"contexts": ["a"], "format": "pickle"}""", HttpStatusCode.BadRequest)]
    [InlineData("/v1/compress", """{"contexts": ["a", "b"], "format": "npy"}""", HttpStatusCode.BadRequest)]
    [InlineData("/v1/compress", """{"contexts": "a"}""", HttpStatusCode.BadRequest)]
    [InlineData("/v1/reconstruct", """{}""", HttpStatusCode.BadRequest)]
    [InlineData("/v1/reconstruct", """{"compressed_id": "cmp-nope"}""", HttpStatusCode.BadRequest)]
    [InlineData("/v1/reconstruct", """{"compressed_id": "cmp-0123456789abcdef0123456789abcdef"}""", HttpStatusCode.NotFound)]
    public async Task BadRequests_AnswerProblemsNot500(string route, string json, HttpStatusCode expected)
    {
        var response = await Post(route, json);
        Assert.Equal(expected, response.StatusCode);
        Assert.Equal(Http.ProblemJson, response.ContentType()?.MediaType);
    }

    [Fact]
    public async Task Metrics_AfterCompressAndAnswer_ExposeGenAiAndCompressionFigures()
    {
        Assert.Equal(HttpStatusCode.OK, (await Post("/v1/compress", $$"""{"contexts": ["{{Ship}}"]}""")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Post("/v1/answer", $$"""{"contexts": ["{{Ship}}"], "question": " Who sailed?", "max_tokens": 4}""")).StatusCode);
        var text = await factory.CreateClient().GetStringAsync("/metrics", Token);

        foreach (var name in new[]
                 {
                     "gen_ai_server_request_duration_seconds_bucket", "gen_ai_server_time_to_first_token_seconds_bucket",
                     "gen_ai_server_time_per_output_token_seconds_bucket", "gen_ai_client_token_usage",
                     "gmsa_compression_duration_seconds_bucket", "gmsa_compression_batch_size_bucket", "gmsa_compression_ratio_bucket",
                     "gmsa_compression_soft_tokens_bucket", "gmsa_compression_cache_requests_total", "gmsa_compression_queued",
                 })
            Assert.Contains(name, text);
        Assert.Contains("gen_ai_operation_name=\"answer\"", text);
        Assert.Contains(text.Split('\n'), l => l.StartsWith("gmsa_compression_cache_requests_total{") && l.Contains("result=\"hit\""));   // compressed by the first call
    }

    [Fact]
    public async Task Answer_SecondQuestionOnTheSameContext_ReusesTheDecodersKeysAndValuesOverItsSoftTokens()
    {
        const string context = "The lighthouse keeper counted forty ships in the harbour before the storm came in from the west.";
        foreach (var question in new[] { " Who counted the ships?", " When did the storm come?" })
            Assert.Equal(HttpStatusCode.OK, (await Post("/v1/answer", $$"""{"contexts": ["{{context}}"], "question": "{{question}}", "max_tokens": 4}""")).StatusCode);

        // This host's own counters: the /metrics text also holds meters of other test hosts alive in the same process.
        var prefixes = factory.Scheduler.SoftPrefixes!;
        Assert.Equal((1, 1), (prefixes.Hits, prefixes.Misses));   // the second question: only its own tokens prefilled
        Assert.True(prefixes.Bytes > 0);
        var metrics = await factory.CreateClient().GetStringAsync("/metrics", Token);
        Assert.Contains(metrics.Split('\n'), l => l.StartsWith("gmsa_soft_prefix_cache_lookups_total{") && l.Contains("result=\"hit\""));
        Assert.Contains(metrics.Split('\n'), l => l.StartsWith("gmsa_soft_prefix_cache_size_bytes"));
    }

    [Fact]
    public async Task Chat_Documents_ReadAsSoftTokensBeforeTheConversation()
    {
        var response = await Post("/v1/chat/completions",
            $$"""{"messages": [{"role": "user", "content": "Question: What is the capital of Chad? Answer:"}], "documents": ["{{Chad}}"], "rate": 4, "max_tokens": 8}""");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.JsonAsync();
        var soft = (await EngineAsync(Chad))[0];
        int question = Gmsa.Language.Tokenizer.Encode("Question: What is the capital of Chad? Answer:", addBos: false).Count;

        Assert.Equal(soft.Count + question, (int)body["usage"]!["prompt_tokens"]!);   // the document's soft tokens, not its 57 tokens
        int completion = (int)body["usage"]!["completion_tokens"]!;   // the fine-tuned decoder may answer and stop early
        Assert.InRange(completion, 1, 8);
        Assert.Equal(completion == 8 ? "length" : "stop", (string)body["choices"]![0]!["finish_reason"]!);
        var models = await (await factory.CreateClient().GetAsync("/v1/models", Token)).JsonAsync();
        Assert.Equal([4, 8], models["data"]![0]!["compression_rates"]!.AsArray().Select(r => (int)r!));
    }

    async Task<(byte[] File, SoftTokenData Soft, int PromptTokens)> VllmAsync()
    {
        const string prompt = " Question: What is the capital of Chad? Answer:";
        var body = await (await Post("/v1/compress", $$"""{"contexts": ["{{Chad}}"], "rate": 4, "format": "vllm-prompt-embeds", "prompt": "{{prompt}}"}""")).JsonAsync();
        return (Convert.FromBase64String((string)body["data"]![0]!["data"]!), (await EngineAsync(Chad))[0], Gmsa.EncodePrompt(prompt).Count);
    }

    [Theory]
    [InlineData("", "document 0 is empty")]
    [InlineData("long", "document 1 is longer than 32 tokens")]
    public async Task Chat_DocumentEmptyOrOverMaxContextTokens_400OnDocumentsBeforeAnyCompression(string second, string message)
    {
        using var small = new ApiFactory(null, ("Gmsa:Compression:MaxContextTokens", "32"));
        int encoderContexts = 0;
        small.Services.GetRequiredService<CompressionHost>().Service!.Batcher.BatchCompressed += (n, _) => Interlocked.Add(ref encoderContexts, n);
        string[] documents = second == "" ? ["", Ship] : [Ship, string.Concat(Enumerable.Repeat(Ship + " ", 4))];
        var response = await small.CreateClient().PostAsync("/v1/chat/completions", new StringContent(
            JsonSerializer.Serialize(new { messages = new[] { new { role = "user", content = "Where?" } }, documents, max_tokens = 4 }),
            Encoding.UTF8, "application/json"), Token);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = (await response.JsonAsync())["error"]!;
        Assert.Equal("documents", (string)error["param"]!);
        Assert.Contains(message, (string)error["message"]!);
        Assert.Equal(0, encoderContexts);
    }

    [Fact]
    public async Task Compress_VllmPromptEmbeds_TorchSaveZipOfSoftTokensThenPrompt()
    {
        var (file, soft, promptTokens) = await VllmAsync();
        using var zip = new System.IO.Compression.ZipArchive(new MemoryStream(file));
        Assert.Equal(["archive/byteorder", "archive/data.pkl", "archive/data/0", "archive/version"], zip.Entries.Select(e => e.FullName).Order());
        using var data = new MemoryStream();
        zip.GetEntry("archive/data/0")!.Open().CopyTo(data);
        var bytes = data.ToArray();
        Assert.Equal((soft.Count + promptTokens) * 384 * 2, bytes.Length);            // bf16 [soft + prompt, hidden]
        Assert.Equal(soft.Raw, bytes[..soft.Raw.Length]);                            // the soft tokens first, bit for bit
        Assert.All(zip.Entries, e => Assert.Equal(e.Length, e.CompressedLength));      // stored, as torch.load reads them
    }

    [Fact]
    public async Task Compress_VllmPromptEmbeds_PyTorchLoadsTheSameValues()
    {
        const string python = "/usr/bin/python3";
        var probe = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo(File.Exists(python) ? python : "false", "-c \"import torch\"")
            { RedirectStandardError = true, UseShellExecute = false })!;
        probe.WaitForExit();
        if (!File.Exists(python) || probe.ExitCode != 0) Assert.Skip("PyTorch is not installed for /usr/bin/python3 (Debian package python3-torch)");

        var (file, soft, promptTokens) = await VllmAsync();
        using var dir = new Gmsa.Engine.Tests.TempDir();
        await File.WriteAllBytesAsync(dir.File("embeds.pt"), file, Token);
        var info = new System.Diagnostics.ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add("import sys, torch; t = torch.load(sys.argv[1]); print(t.dtype, list(t.shape)); open(sys.argv[2], 'wb').write(t.float().numpy().tobytes())");
        info.ArgumentList.Add(dir.File("embeds.pt"));
        info.ArgumentList.Add(dir.File("values.f32"));
        using var run = System.Diagnostics.Process.Start(info)!;
        string output = await run.StandardOutput.ReadToEndAsync(Token), errors = await run.StandardError.ReadToEndAsync(Token);
        await run.WaitForExitAsync(Token);
        Assert.True(run.ExitCode == 0, errors);
        Assert.Equal($"torch.bfloat16 [{soft.Count + promptTokens}, 384]", output.Trim());
        var values = await File.ReadAllBytesAsync(dir.File("values.f32"), Token);
        var loaded = Enumerable.Range(0, soft.Count * 384).Select(i => BitConverter.ToSingle(values, 4 * i)).ToArray();
        Assert.Equal(soft.ToFloat32(), loaded);
    }

    [Fact]
    public async Task Compress_ContextAsTokenIds_SameSoftTokensAsTheText()
    {
        var ids = Gmsa.EncodeContext(Ship);
        var byIds = (await (await Post("/v1/compress", $$"""{"context_ids": [[{{string.Join(", ", ids)}}]], "rate": 4}""")).JsonAsync())["data"]![0]!;
        var byText = (await (await Post("/v1/compress", $$"""{"contexts": ["{{Ship}}"], "rate": 4}""")).JsonAsync())["data"]![0]!;

        Assert.Equal(ids.Count, (int)byIds["tokens_in"]!);
        Assert.Equal(Floats(byText["embedding"]!), Floats(byIds["embedding"]!));
        Assert.Equal(HttpStatusCode.BadRequest, (await Post("/v1/compress", """{"context_ids": [[1, 99999]]}""")).StatusCode);
    }

    [Fact]
    public async Task Answer_Stream_EventsConcatenateToTheAnswerAndEndWithDone()
    {
        string body = $$"""{"contexts": ["{{Chad}}"], "question": "{{" Question: What is the capital of Chad? Answer:"}}", "max_tokens": 10""";
        var answer = await (await Post("/v1/answer", body + "}")).JsonAsync();
        var whole = (string)answer["text"]!;
        var response = await factory.CreateClient().SendAsync(new HttpRequestMessage(HttpMethod.Post, "/v1/answer")
        {
            Content = new StringContent(body + ", \"stream\": true}", Encoding.UTF8, "application/json"),
        }, HttpCompletionOption.ResponseHeadersRead, Token);
        var events = await response.EventsAsync(Token);

        Assert.Equal(whole, string.Concat(events.Select(e => (string)e["text"]!)));
        Assert.Equal((string)answer["finish_reason"]!, (string)events[^1]["finish_reason"]!);
        Assert.Contains((string)events[^1]["finish_reason"]!, new[] { "stop", "length" });
    }

    [Fact]
    public async Task Answer_Stop_EndsTheAnswerBeforeTheStopString()
    {
        string body = $$"""{"contexts": ["{{Chad}}"], "question": "{{" Question: What is the capital of Chad? Answer:"}}", "max_tokens": 12""";
        var free = await (await Post("/v1/answer", body + "}")).JsonAsync();
        var whole = (string)free["text"]!;
        Assert.True(whole.Length >= 4, $"the free answer '{whole}' is too short to cut");
        var stop = whole.Substring(whole.Length / 2, 2);

        var cut = await (await Post("/v1/answer", body + $$""", "stop": ["{{stop}}"]}""")).JsonAsync();

        Assert.Equal(whole[..whole.IndexOf(stop, StringComparison.Ordinal)], (string)cut["text"]!);
        Assert.Equal("stop", (string)cut["finish_reason"]!);
        Assert.True((int)cut["usage"]!["completion_tokens"]! < (int)free["usage"]!["completion_tokens"]!);   // it stopped generating there
    }

    [Fact]
    public async Task Swagger_EveryRoute_HasRequestAndResponseExamples()
    {
        var document = JsonNode.Parse(await factory.CreateClient().GetStringAsync("/swagger/v1/swagger.json", Token))!;
        var paths = document["paths"]!.AsObject();
        foreach (var route in new[] { "/v1/completions", "/v1/chat/completions", "/v1/compress", "/v1/answer", "/v1/reconstruct" })
        {
            var post = paths[route]!["post"]!;
            Assert.NotNull(post["requestBody"]!["content"]!["application/json"]!["example"]);
            Assert.NotNull(post["responses"]!["200"]!["content"]!["application/json"]!["example"]);
        }
        Assert.NotNull(paths["/v1/models"]!["get"]!["responses"]!["200"]!["content"]!["application/json"]!["example"]);
    }

    public void Dispose() => factory.Dispose();
}
