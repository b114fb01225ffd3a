using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using Gmsa.Api.Contracts;
using Gmsa.Api.Hosting;
using Gmsa.Api.Options;
using Gmsa.Api.Telemetry;
using Gmsa.Engine.Compression;
using Gmsa.Engine.Generation;
using Gmsa.Engine.Serving;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace Gmsa.Api.Endpoints;

/// <summary>
/// POST /v1/compress, /v1/answer and /v1/reconstruct: contexts become soft tokens (batched through the encoder, cached
/// by id), and the decoder answers from them through the same continuous-batching scheduler as completions.
/// </summary>
public static class CompressionEndpoints
{
    const string ReconstructOperation = "reconstruct";   // the span and metric name, and the restate adapter's cue

    public static IEndpointRouteBuilder MapCompressionEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1").WithTags("Compression");
        group.MapPost("/compress", Compress).WithName("Compress").WithSummary("Compress contexts into soft tokens")
            .WithDescription("Each context becomes [n, hidden] soft tokens in the decoder's input-embedding space, about one per `rate` tokens, " +
                "with a compressed_id that /v1/answer and /v1/reconstruct accept while it is cached. format: json, base64-float32, base64-bfloat16, " +
                "safetensors, npy or vllm-prompt-embeds. tokens_out is the tensor's rows; ratio is tokens_in / soft tokens. With vllm-prompt-embeds " +
                "the rows are the soft tokens then the embedded prompt's prompt_tokens, so tokens_out = soft tokens + prompt_tokens and ratio = " +
                "tokens_in / (tokens_out - prompt_tokens).")
            .Produces(StatusCodes.Status200OK, contentType: SoftTokenFormats.SafetensorsMediaType)
            .Produces(StatusCodes.Status200OK, contentType: SoftTokenFormats.NpyMediaType)
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status429TooManyRequests);
        group.MapPost("/answer", Answer).WithName("Answer").WithSummary("Answer a question over compressed contexts")
            .WithDescription("The decoder reads the contexts' soft tokens, then the question, and answers; stream: true answers with server-sent events.")
            .Produces<CompletionChunk>(StatusCodes.Status200OK, "text/event-stream")
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status429TooManyRequests);
        group.MapPost("/reconstruct", Reconstruct).WithName("Reconstruct").WithSummary("What the compression kept")
            .WithDescription("The decoder's restatement of one compressed context (the autoencoder's instruction as prompt), with the " +
                "compressor's restate adapter where it has one (its answer adapter otherwise); stream: true answers with server-sent events.")
            .Produces<CompletionChunk>(StatusCodes.Status200OK, "text/event-stream")
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status429TooManyRequests);
        return app;
    }

    public static async Task<Results<Ok<CompressResponse>, FileContentHttpResult, ValidationProblem, ProblemHttpResult>> Compress(
        CompressRequest request, [AsParameters] CompressionServices services, CancellationToken cancellation)
    {
        if (services.Host.Service is not { } compression) return NoCompressor();
        var errors = new Dictionary<string, string[]>();
        string format = request.Format ?? SoftTokenFormats.Json;
        bool byText = request.Contexts is { Length: > 0 }, byIds = request.ContextIds is { Length: > 0 };
        int count = byText ? request.Contexts!.Length : request.ContextIds?.Length ?? 0;
        if (byText == byIds) errors["contexts"] = ["give exactly one of contexts and context_ids, with at least one context"];
        if (!SoftTokenFormats.All.Contains(format)) errors["format"] = [$"format must be one of {string.Join(", ", SoftTokenFormats.All)}"];
        if (format == SoftTokenFormats.Npy && count != 1) errors["format"] = ["npy holds one tensor: send one context, or ask for safetensors"];
        var tokenized = byText ? compression.CheckContexts(request.Contexts!, "contexts", errors) : [];
        if (byIds) compression.CheckIds(request.ContextIds!, errors);
        var promptIds = format == SoftTokenFormats.VllmPromptEmbeds ? CheckPrompt(compression, request.Prompt, "prompt", services.Serving.Value, errors) : null;
        int rate = request.Rate ?? compression.DefaultRate;
        if (errors.Count == 0)
            compression.CheckResponseSize(byText ? tokenized.Select(t => t.Count) : request.ContextIds!.Select(ids => ids.Length), rate, format,
                promptIds?.Count ?? 0, byText ? "contexts" : "context_ids", errors);
        if (errors.Count > 0) return TypedResults.ValidationProblem(errors, detail: "the compression request is not valid (errors names each field)");

        (string Id, SoftTokenData Soft, bool Cached)[] results;
        try
        {
            results = byText ? await Task.WhenAll(request.Contexts!.Select((c, i) => compression.CompressAsync(c, tokenized[i], rate, cancellation)))
                : await Task.WhenAll(request.ContextIds!.Select(ids => compression.CompressIdsAsync(ids, rate, cancellation)));
        }
        catch (CompressionQueueFullException) { return Busy(services); }
        foreach (var r in results) services.CompressionMetrics.Served(r.Soft, r.Cached);

        if (format == SoftTokenFormats.Safetensors)
            return TypedResults.File(SoftTokenFormats.SafetensorsFile(results.Select(r => (r.Id, r.Soft)).ToArray(), rate, compression.Gmsa.Config.BaseModel), SoftTokenFormats.SafetensorsMediaType, "soft_tokens.safetensors");
        if (format == SoftTokenFormats.Npy)
            return TypedResults.File(SoftTokenFormats.NpyFile(results[0].Soft), SoftTokenFormats.NpyMediaType, "soft_tokens.npy");
        if (format == SoftTokenFormats.VllmPromptEmbeds)
        {
            var prompt = await PromptEmbeddingsAsync(promptIds, services.Language);
            var vllm = results.Select(r =>
            {
                var embeds = prompt is null ? r.Soft : SoftTokenData.Concatenate([r.Soft, prompt]) with { ContextTokens = r.Soft.ContextTokens };
                // tokens_out counts the tensor's rows (soft tokens and prompt); ratio stays tokens_in / soft tokens, as in the other formats
                return new CompressedContext(r.Id, [embeds.Count, embeds.Dimension], embeds.Dtype, r.Soft.ContextTokens, embeds.Count,
                    Math.Round(r.Soft.Ratio, 3), r.Cached, Data: Convert.ToBase64String(TorchSaveFile.Write(embeds)), PromptTokens: prompt?.Count ?? 0);
            }).ToArray();
            return TypedResults.Ok(new CompressResponse(services.Model.Id, rate, vllm));
        }
        var data = results.Select(r => new CompressedContext(r.Id, [r.Soft.Count, r.Soft.Dimension],
            format == SoftTokenFormats.Base64Bfloat16 ? "bfloat16" : "float32", r.Soft.ContextTokens, r.Soft.Count, Math.Round(r.Soft.Ratio, 3), r.Cached,
            Embedding: format == SoftTokenFormats.Json ? SoftTokenFormats.Rows(r.Soft) : null,
            Data: format.StartsWith("base64", StringComparison.Ordinal) ? SoftTokenFormats.Base64(r.Soft, format == SoftTokenFormats.Base64Bfloat16) : null)).ToArray();
        return TypedResults.Ok(new CompressResponse(services.Model.Id, rate, data));
    }

    public static async Task<Results<Ok<AnswerResponse>, ServerSentEventsResult<string>, ValidationProblem, ProblemHttpResult>> Answer(
        AnswerRequest request, [AsParameters] CompressionServices services, CancellationToken cancellation)
    {
        if (services.Host.Service is not { } compression) return NoCompressor();
        var errors = new Dictionary<string, string[]>();
        bool byText = request.Contexts is { Length: > 0 }, byId = request.CompressedIds is { Length: > 0 };
        if (byText == byId) errors["contexts"] = ["give exactly one of contexts and compressed_ids, with at least one entry"];
        // a null, empty or malformed id is the client's error, not an unknown id (404: made here once, since expired)
        else if (byId && Array.FindIndex(request.CompressedIds!, id => !CompressionService.IsId(id)) is var bad and >= 0)
            errors["compressed_ids"] = [NotAnId($"compressed_ids[{bad}]", request.CompressedIds![bad])];
        if (byId && !byText && request.Rate is not null) errors["rate"] = [RateWithIds("compressed_ids were", "their own rate")];
        CompletionRequestValidator.CheckMaxNewTokens(request.MaxTokens, "max_tokens", services.Serving.Value, errors);
        var question = CheckPrompt(compression, request.Question, "question", services.Serving.Value, errors);
        var stops = StopSequences.Parse(request.Stop, errors);
        var tokenized = byText && errors.Count == 0 ? compression.CheckContexts(request.Contexts!, "contexts", errors) : [];
        if (errors.Count > 0) return TypedResults.ValidationProblem(errors, detail: "the answer request is not valid (errors names each field)");
        var sampling = request.ToSampling(services.Language.Generation, services.Serving.Value.DefaultMaxTokens) with { StopSequences = stops };
        return await RunAsync(compression, services, byText ? request.Contexts : null, tokenized, request.CompressedIds, request.Rate, question!, sampling, request.MaxTokens,
            request.Stream, cancellation);
    }

    public static async Task<Results<Ok<AnswerResponse>, ServerSentEventsResult<string>, ValidationProblem, ProblemHttpResult>> Reconstruct(
        ReconstructRequest request, [AsParameters] CompressionServices services, CancellationToken cancellation)
    {
        if (services.Host.Service is not { } compression) return NoCompressor();
        var errors = new Dictionary<string, string[]>();
        if (string.IsNullOrEmpty(request.Context) == (request.CompressedId is null))
            errors["context"] = ["give exactly one of context and compressed_id"];
        else if (request.CompressedId is { } given && !CompressionService.IsId(given))
            errors["compressed_id"] = [NotAnId("compressed_id", given)];
        if (request.CompressedId is not null && string.IsNullOrEmpty(request.Context) && request.Rate is not null)
            errors["rate"] = [RateWithIds("compressed_id was", "its own rate")];
        CompletionRequestValidator.CheckMaxNewTokens(request.MaxTokens, "max_tokens", services.Serving.Value, errors);
        var stops = StopSequences.Parse(request.Stop, errors);
        var tokenized = request.Context is { Length: > 0 } c && errors.Count == 0 ? compression.CheckContexts([c], "context", errors) : [];
        if (errors.Count > 0) return TypedResults.ValidationProblem(errors, detail: "the reconstruction request is not valid (errors names each field)");
        var sampling = services.Language.Generation.Resolve(temperature: 0) with { StopSequences = stops };
        var instruction = compression.Gmsa.EncodePrompt(compression.Gmsa.Config.AutoencoderPrompt);
        return await RunAsync(compression, services, request.Context is { Length: > 0 } ctx ? [ctx] : null, tokenized,
            request.CompressedId is { Length: > 0 } id ? [id] : null, request.Rate, instruction, sampling, request.MaxTokens, request.Stream, cancellation, ReconstructOperation);
    }

    /// <summary>A rate sent with ids would be ignored: soft tokens keep the rate they were compressed at.</summary>
    static string RateWithIds(string idsWere, string theirRate) =>
        $"rate applies to contexts given as text; {idsWere} compressed at {theirRate}: leave rate out, or send the text to compress it at this rate";

    /// <summary>Why <paramref name="id"/> cannot be a compressed id (the text is shortened: it is the client's own).</summary>
    static string NotAnId(string field, string? id) => string.IsNullOrWhiteSpace(id)
        ? $"{field} is empty: give an id from /v1/compress"
        : $"{field} '{(id.Length > 40 ? id[..40] + "..." : id)}' is not an id from /v1/compress ('cmp-' and 32 lower-case hex digits)";

    /// <summary>
    /// Soft tokens for the contexts (cache, else the batcher) or ids (cache only), then the scheduler reads them and the
    /// <paramref name="prompt"/>'s tokens (the question, or the autoencoder's instruction). A left-out
    /// <paramref name="maxTokens"/> is DefaultMaxTokens shortened to what the decoder's context still holds.
    /// </summary>
    static async Task<Results<Ok<AnswerResponse>, ServerSentEventsResult<string>, ValidationProblem, ProblemHttpResult>> RunAsync(
        CompressionService compression, CompressionServices services, string[]? contexts, IReadOnlyList<int>[] tokenized, string[]? ids, int? rate, IReadOnlyList<int> prompt,
        SamplingOptions sampling, int? maxTokens, bool stream, CancellationToken cancellation, string operation = "answer")
    {
        var clock = Stopwatch.StartNew();
        var parts = new List<SoftTokenData>();
        int hits = 0;
        if (contexts is not null)
        {
            try
            {
                foreach (var r in await Task.WhenAll(contexts.Select((c, i) => compression.CompressAsync(c, tokenized[i], rate ?? compression.DefaultRate, cancellation))))
                {
                    parts.Add(r.Soft);
                    if (r.Cached) hits++;
                    services.CompressionMetrics.Served(r.Soft, r.Cached);
                }
            }
            catch (CompressionQueueFullException) { return Busy(services); }
        }
        else
            foreach (var id in ids!)
            {
                var soft = await compression.FindAsync(id, cancellation);   // well-formed: checked with the request
                if (soft is null)
                    return TypedResults.Problem(statusCode: StatusCodes.Status404NotFound,
                        detail: $"compressed_id '{id}' is not cached (never made, or expired after {compression.Options.CacheSeconds} s): compress the context again");
                parts.Add(soft);
                hits++;
                services.CompressionMetrics.Served(soft, cached: true);
            }
        double compressionMs = hits == parts.Count ? 0 : clock.Elapsed.TotalMilliseconds;
        var prefix = SoftTokenData.Concatenate(parts);

        int context = services.Language.Model.Config.ContextLength, used = prefix.Count + prompt.Count;
        if (used >= context)   // named by what fills the context, not max_tokens
            return TypedResults.ValidationProblem(new Dictionary<string, string[]>
            {
                [FullField(operation, ids is not null, prompt.Count >= context)] = [$"{prefix.Count} soft tokens and {prompt.Count} question tokens leave no room in " +
                    $"the decoder's context of {context} tokens: compress at a higher rate, or send fewer or shorter contexts"],
            }, detail: "the soft tokens and the question do not fit the decoder's context");
        sampling = sampling with { MaxNewTokens = maxTokens ?? Math.Min(services.Serving.Value.DefaultMaxTokens, context - used) };
        var softTensor = prefix.ToTensor(services.Language.Model.Device);
        var adapter = operation == ReconstructOperation ? compression.Gmsa.RestateAdapter : compression.Gmsa.AnswerAdapter;
        var request = new GenerationRequest(prompt, sampling) { SoftPrefix = softTensor, DecoderAdapter = adapter };
        ScheduledGeneration? generation;
        var runUntil = stream ? RequestDeadline.TakeOver(services.Context) : cancellation;
        try
        {
            if (!services.Scheduler.TryEnqueue(request, runUntil, out generation))
            {
                softTensor.Dispose();
                return Busy(services);
            }
        }
        catch (ArgumentException e)
        {
            softTensor.Dispose();
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["max_tokens"] = [e.Message + "; compress at a higher rate or ask for fewer tokens"] },
                detail: "the soft tokens, the question and max_tokens do not fit the decoder's context");
        }
        _ = generation.Completion.ContinueWith(_ => softTensor.Dispose(), TaskScheduler.Default);
        var info = new AnswerCompression(prefix.Count, prefix.ContextTokens, hits, Math.Round(compressionMs, 3));
        var responseId = $"ans-{Guid.NewGuid():N}";
        if (stream)
            return TypedResults.ServerSentEvents(SseStream.WithDone(StreamAsync(responseId, services.Model.Id, generation, services.CompletionMetrics, operation, clock, runUntil),
                services.Json.Value.SerializerOptions, services.Context));
        var outcome = await generation.Completion;
        services.CompletionMetrics.Completed(outcome, clock.Elapsed, stream: false, operation);
        return TypedResults.Ok(new AnswerResponse(responseId, services.Model.Id, outcome.Text, CompletionResponse.FinishReasonName(outcome.Reason),
            CompletionUsage.From(outcome), CompletionTimings.From(outcome), info));
    }

    /// <summary>Completion chunks, <c>model</c> included as a completion stream's are; the last carries finish_reason, usage and timings.</summary>
    static async IAsyncEnumerable<CompletionChunk> StreamAsync(string id, string model, ScheduledGeneration generation, CompletionMetrics metrics, string operation,
        Stopwatch clock, [EnumeratorCancellation] CancellationToken cancellation)
    {
        await foreach (var piece in generation.Text.ReadAllAsync(cancellation))
            yield return CompletionChunk.Piece(id, model, piece);
        var outcome = await generation.Completion;
        metrics.Completed(outcome, clock.Elapsed, stream: true, operation);
        yield return CompletionChunk.Final(id, model, outcome);
    }

    /// <summary>
    /// The tokens of text read after soft tokens (no BOS), an answer's question or the vllm-prompt-embeds prompt, or null
    /// without any; bounded as a completion's prompt is (by characters before tokenizing, then by MaxPromptTokens), with an
    /// error under <paramref name="field"/>: a question is decoded over, a vllm prompt copied into every context's answer.
    /// </summary>
    static IReadOnlyList<int>? CheckPrompt(CompressionService compression, string? prompt, string field, ServingOptions limits, Dictionary<string, string[]> errors)
    {
        if (string.IsNullOrEmpty(prompt)) return null;
        long characterLimit = (long)limits.MaxPromptTokens * CompletionRequestValidator.MaxCharactersPerToken;
        var ids = prompt.Length <= characterLimit ? compression.Gmsa.EncodePrompt(prompt) : null;
        if (ids is null || ids.Count > limits.MaxPromptTokens)
            errors[field] = [$"{field} is {(ids is null ? $"{prompt.Length} characters" : $"{ids.Count} tokens")}; this service accepts at most " +
                             $"{limits.MaxPromptTokens} tokens ({ServingOptions.Section}:MaxPromptTokens)"];
        return ids;
    }

    /// <summary>The decoder's input embeddings of the prompt's <paramref name="ids"/>, or null without any.</summary>
    static Task<SoftTokenData?> PromptEmbeddingsAsync(IReadOnlyList<int>? ids, LanguageModel language)
    {
        if (ids is not { Count: > 0 }) return Task.FromResult<SoftTokenData?>(null);
        return language.Runner.RunAsync(() =>
        {
            using var scope = TorchSharp.torch.NewDisposeScope();
            using var noGrad = TorchSharp.torch.inference_mode();
            var embedded = language.Model.Embed(TorchSharp.torch.tensor(ids.Select(t => (long)t).ToArray(), [1, ids.Count], device: language.Model.Device));
            return (SoftTokenData?)SoftTokenData.From(embedded.squeeze(0), ids.Count, 1);
        });
    }

    /// <summary>The request field that filled the decoder's context: the question alone, else the contexts or ids, by route.</summary>
    static string FullField(string operation, bool byId, bool questionAlone) =>
        questionAlone ? "question"
        : operation == ReconstructOperation ? (byId ? "compressed_id" : "context")
        : byId ? "compressed_ids" : "contexts";

    static ProblemHttpResult NoCompressor() => TypedResults.Problem(statusCode: StatusCodes.Status404NotFound,
        detail: $"the loaded model has no GMSA compressor: serve a model folder with a compressor/ folder, or set {CompressionOptions.Section}:Compressor");

    static ProblemHttpResult Busy(CompressionServices services) => TooManyRequests.Problem(services.Context, services.Serving.Value,
        $"every compression or generation slot is taken; retry after {services.Serving.Value.RetryAfterSeconds} s");
}

/// <summary>What the compression handlers need besides the request body.</summary>
public sealed record CompressionServices(
    [FromServices] CompressionHost Host,
    [FromServices] LanguageModel Language,
    [FromServices] GenerationScheduler Scheduler,
    [FromServices] ModelInfo Model,
    [FromServices] IOptions<ServingOptions> Serving,
    [FromServices] CompressionMetrics CompressionMetrics,
    [FromServices] CompletionMetrics CompletionMetrics,
    [FromServices] IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions> Json,
    HttpContext Context);
