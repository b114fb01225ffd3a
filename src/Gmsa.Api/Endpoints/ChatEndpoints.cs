using System.Runtime.CompilerServices;
using System.Text.Json;
using Gmsa.Api.Contracts;
using Gmsa.Api.Hosting;
using Gmsa.Api.Options;
using Gmsa.Api.Telemetry;
using Gmsa.Engine.Compression;
using Gmsa.Engine.Generation;
using Gmsa.Engine.Serving;
using Gmsa.Engine.Text;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using static TorchSharp.torch;

namespace Gmsa.Api.Endpoints;

/// <summary>
/// POST /v1/chat/completions in OpenAI's request and response shapes (SSE chunks ending with data: [DONE], stop, n,
/// errors with OpenAI's error object), so the official clients work unchanged. Long documents reach the model through
/// the <c>documents</c> extension: they are compressed (and cached) and read as soft tokens before the conversation.
/// </summary>
public static class ChatEndpoints
{
    public static IEndpointRouteBuilder MapChatEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGroup("/v1/chat/completions").WithTags("Chat").MapPost("/", Create).WithName("CreateChatCompletion")
            .WithSummary("OpenAI-compatible chat completion")
            .WithDescription("The conversation is rendered with the model's chat template. Extensions: documents (compressed with GMSA and read " +
                "as soft tokens before the conversation) and rate, top_k, repetition_penalty.")
            .Produces<ChatChunk>(StatusCodes.Status200OK, "text/event-stream")
            .ProducesProblem(StatusCodes.Status429TooManyRequests);
        return app;
    }

    public static async Task<Results<Ok<ChatCompletion>, ServerSentEventsResult<string>, ValidationProblem, ProblemHttpResult>> Create(
        ChatRequest request, [AsParameters] ChatServices services, CancellationToken cancellation)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var errors = new Dictionary<string, string[]>();
        var stops = StopSequences.Parse(request.Stop, errors);
        // FindIndex, not FirstOrDefault: a null message (JSON null in the array) is itself the bad one
        int badAt = Array.FindIndex(request.Messages!, m => m is null || !ChatTemplate.Roles.Contains(m.Role) || m.Content is null);
        if (badAt >= 0)
            errors["messages"] = [$"each message needs a role ({string.Join(", ", ChatTemplate.Roles)}) and a content; message {badAt} " +
                                  (request.Messages![badAt] switch
                                  {
                                      null => "is null",
                                      { Role: var role } when !ChatTemplate.Roles.Contains(role) => role is null ? "has no role" : $"has role '{role}'",
                                      _ => "has no content",
                                  })];
        else if (request.Messages!.Select((m, i) => m.Content!.Problem(i)).FirstOrDefault(p => p is not null) is { } notText)
            errors["messages"] = [notText];
        int n = request.N ?? 1;
        if (n > 1 && request.Stream) errors["n"] = ["n > 1 is supported without stream only"];
        CompletionRequestValidator.CheckMaxNewTokens(request.MaxTokens, "max_tokens", services.Serving.Value, errors);
        CompletionRequestValidator.CheckMaxNewTokens(request.MaxCompletionTokens, "max_completion_tokens", services.Serving.Value, errors);
        var compression = services.Compression.Service;
        if (request.Documents is { Length: > 0 } && compression is null) errors["documents"] = ["documents need a model with a GMSA compressor"];
        var documentTokens = request.Documents is { Length: > 0 } && compression is not null && errors.Count == 0
            ? compression.CheckContexts(request.Documents, "documents", errors) : [];
        if (errors.Count > 0) return TypedResults.ValidationProblem(errors, detail: NotValid);

        var lm = services.Language;
        var messages = request.Messages!.Select(m => new ChatMessage(m.Role, m.Content!.Text)).ToArray();
        int context = lm.Model.Config.ContextLength;
        // The conversation's length is checked before the documents are compressed, and under messages, not max_tokens:
        // by characters first (as completions check a prompt), so a conversation that cannot fit is not tokenized
        var limits = services.Serving.Value;
        long characters = messages.Sum(m => (long)m.Content.Length), characterLimit = (long)limits.MaxPromptTokens * CompletionRequestValidator.MaxCharactersPerToken;
        if (characters > characterLimit)
            return MessagesTooLong($"the messages are {characters} characters; this service accepts at most {characterLimit} " +
                                   $"({CompletionRequestValidator.MaxCharactersPerToken} per token of {ServingOptions.Section}:MaxPromptTokens)");
        var prompt = request.Documents is { Length: > 0 }
            ? lm.Tokenizer.Encode(lm.Chat.Render(messages).Text, addBos: false)   // soft tokens first, so no BOS
            : lm.EncodeChat(messages);
        if (prompt.Count > limits.MaxPromptTokens)
            return MessagesTooLong($"the messages are {prompt.Count} tokens; this service accepts at most {limits.MaxPromptTokens} ({ServingOptions.Section}:MaxPromptTokens)");
        if (prompt.Count >= context)
            return MessagesTooLong($"the messages are {prompt.Count} tokens; the model's context of {context} tokens leaves no room for a new one");
        SoftTokenData? prefix = null;
        if (request.Documents is { Length: > 0 } documents)
        {
            try
            {
                var compressed = await Task.WhenAll(documents.Select((d, i) => compression!.CompressAsync(d, documentTokens[i], request.Rate ?? compression.DefaultRate, cancellation)));
                foreach (var c in compressed) services.CompressionMetrics.Served(c.Soft, c.Cached);
                prefix = SoftTokenData.Concatenate(compressed.Select(c => c.Soft).ToArray());
            }
            catch (CompressionQueueFullException) { return Busy(services); }
            if (prefix.Count + prompt.Count >= context)
                return TypedResults.ValidationProblem(new Dictionary<string, string[]>
                {
                    ["documents"] = [$"the documents' {prefix.Count} soft tokens and the messages' {prompt.Count} tokens leave no room in the model's " +
                                     $"context of {context} tokens: compress at a higher rate or send fewer documents"],
                }, detail: DoesNotFit);
        }

        int used = prompt.Count + (prefix?.Count ?? 0);
        var sampling = request.ToSampling(lm.Generation,
            request.MaxCompletionTokens ?? request.MaxTokens ?? Math.Max(1, Math.Min(services.Serving.Value.DefaultMaxTokens, context - used))) with
        {
            StopSequences = stops,
        };
        var runUntil = request.Stream ? RequestDeadline.TakeOver(services.Context) : cancellation;
        var generations = new List<ScheduledGeneration>();
        var tensors = new List<Tensor>();
        try
        {
            for (int i = 0; i < n; i++)
            {
                var soft = prefix?.ToTensor(lm.Model.Device);
                if (soft is not null) tensors.Add(soft);
                var one = new GenerationRequest(prompt, sampling with { Seed = sampling.Seed + i })
                {
                    SoftPrefix = soft,
                    DecoderAdapter = soft is not null ? compression!.Gmsa.AnswerAdapter : null,
                };
                if (!services.Scheduler.TryEnqueue(one, runUntil, out var g)) return Busy(services);
                generations.Add(g);
            }
        }
        catch (ArgumentException e)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["max_tokens"] = [e.Message] }, detail: DoesNotFit);
        }
        finally
        {
            var all = generations.Select(g => (Task)g.Completion).ToArray();
            _ = Task.WhenAll(all).ContinueWith(_ => { foreach (var t in tensors) t.Dispose(); }, TaskScheduler.Default);
        }

        string id = $"chatcmpl-{Guid.NewGuid():N}";
        long created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        if (request.Stream)
            return TypedResults.ServerSentEvents(SseStream.WithDone(StreamAsync(id, created, services.Model.Id, generations[0], request.StreamOptions?.IncludeUsage == true, services.CompletionMetrics, clock, runUntil),
                services.Json.Value.SerializerOptions, services.Context));

        var outcomes = await Task.WhenAll(generations.Select(g => g.Completion));
        var choices = outcomes.Select((o, i) =>
            new ChatChoice(i, new ChatMessageDto("assistant", o.Text), CompletionResponse.FinishReasonName(o.Reason))).ToArray();
        foreach (var o in outcomes) services.CompletionMetrics.Completed(o, clock.Elapsed, stream: false, "chat");
        return TypedResults.Ok(new ChatCompletion(id, created, services.Model.Id, choices,
            new CompletionUsage(outcomes[0].PromptTokens, outcomes.Sum(o => o.CompletionTokens))));
    }

    /// <summary>A role chunk, content chunks (stop sequences already applied by the scheduler), a finish chunk, and a usage chunk when asked.</summary>
    static async IAsyncEnumerable<ChatChunk> StreamAsync(string id, long created, string model, ScheduledGeneration generation, bool includeUsage,
        CompletionMetrics metrics, System.Diagnostics.Stopwatch clock, [EnumeratorCancellation] CancellationToken cancellation)
    {
        ChatChunk Chunk(ChatDelta delta, string? finish = null) => new(id, created, model, [new ChatChunkChoice(0, delta, finish)]);
        yield return Chunk(new ChatDelta(Role: "assistant", Content: ""));
        await foreach (var text in generation.Text.ReadAllAsync(cancellation))
            yield return Chunk(new ChatDelta(Content: text));
        var outcome = await generation.Completion;
        metrics.Completed(outcome, clock.Elapsed, stream: true, "chat");
        yield return Chunk(new ChatDelta(), CompletionResponse.FinishReasonName(outcome.Reason));
        if (includeUsage) yield return new ChatChunk(id, created, model, []) { Usage = CompletionUsage.From(outcome) };
    }

    static ValidationProblem MessagesTooLong(string why) =>
        TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["messages"] = [why] }, detail: NotValid);

    const string NotValid = "the chat request is not valid (errors names each field)";
    const string DoesNotFit = "the chat request does not fit the model's context";

    static ProblemHttpResult Busy(ChatServices services) => TooManyRequests.Problem(services.Context, services.Serving.Value,
        $"every slot is taken; retry after {services.Serving.Value.RetryAfterSeconds} s");
}

/// <summary>What the chat handler needs besides the request body.</summary>
public sealed record ChatServices(
    [FromServices] LanguageModel Language,
    [FromServices] GenerationScheduler Scheduler,
    [FromServices] CompressionHost Compression,
    [FromServices] ModelInfo Model,
    [FromServices] IOptions<ServingOptions> Serving,
    [FromServices] IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions> Json,
    [FromServices] CompletionMetrics CompletionMetrics,
    [FromServices] CompressionMetrics CompressionMetrics,
    HttpContext Context);
