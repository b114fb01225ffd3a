using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using Gmsa.Api.Contracts;
using Gmsa.Api.Hosting;
using Gmsa.Api.Options;
using Gmsa.Api.Telemetry;
using Gmsa.Engine.Serving;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Microsoft.AspNetCore.Mvc;

namespace Gmsa.Api.Endpoints;

/// <summary>POST /v1/completions: validate into a <see cref="GenerationRequest"/>, admit or refuse, then wait or stream.</summary>
public static class CompletionEndpoints
{
    public static IEndpointRouteBuilder MapCompletionEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/completions").WithTags("Completions");
        group.MapPost("/", CreateCompletion)
            .WithName("CreateCompletion")
            .WithSummary("Continue a prompt")
            .WithDescription("Greedy unless temperature > 0. With stream: true the answer is text/event-stream: one event per text piece, " +
                "then a last event with finish_reason, usage and timings. 429 with Retry-After when every slot is taken.")
            .Produces<CompletionChunk>(StatusCodes.Status200OK, "text/event-stream")
            .ProducesProblem(StatusCodes.Status429TooManyRequests);
        return app;
    }

    const string NotValid = "the completion request is not valid (errors names each field)";

    public static async Task<Results<Ok<CompletionResponse>, ServerSentEventsResult<string>, ValidationProblem, ProblemHttpResult>> CreateCompletion(
        CompletionRequest request, [AsParameters] CompletionServices services, CancellationToken cancellation)
    {
        var requestErrors = new Dictionary<string, string[]>();
        var stops = StopSequences.Parse(request.Stop, requestErrors);
        int n = request.N ?? 1, prompts = Math.Max(1, request.Prompt?.Texts.Count ?? 1), rows = prompts * n;
        if (n > 1 && request.Stream) requestErrors["n"] = ["n > 1 is supported without stream only"];
        if (prompts > 1 && request.Stream) requestErrors["prompt"] = ["several prompts are supported without stream only"];
        else if (rows > services.Serving.Value.MaxQueuedRequests)   // could never be admitted whole: 400, not 429
            requestErrors["prompt"] = [$"{prompts} prompts x n {n} are {rows} completions; this service admits at most " +
                                       $"{services.Serving.Value.MaxQueuedRequests} at once ({ServingOptions.Section}:MaxQueuedRequests)"];
        if (requestErrors.Count > 0) return TypedResults.ValidationProblem(requestErrors, detail: NotValid);
        var clock = Stopwatch.StartNew();
        // Admission first (a slot per choice), tokenizing second: a full service refuses at once, without tokenizing a long prompt for nothing.
        var slots = new List<AdmissionSlot>(rows);
        while (slots.Count < rows && services.Scheduler.TryReserve(out var slot)) slots.Add(slot);
        if (slots.Count < rows)
        {
            foreach (var s in slots) s.Dispose();
            return TooManyRequests(services);
        }
        if (!services.Validator.TryValidate(request, out var valid, out var errors))
        {
            foreach (var s in slots) s.Dispose();
            return TypedResults.ValidationProblem(errors, detail: NotValid);
        }
        var runUntil = request.Stream ? RequestDeadline.TakeOver(services.Context) : cancellation;
        // Prompt by prompt, n choices each (seeds seed, seed+1, ...: a prompt's choices are those it gets alone).
        var generations = slots.Select((slot, row) =>
        {
            var prompt = valid[row / n];
            return services.Scheduler.Enqueue(slot, prompt with { Sampling = prompt.Sampling with { Seed = prompt.Sampling.Seed + row % n, StopSequences = stops } }, runUntil);
        }).ToArray();

        var id = $"cmpl-{Guid.NewGuid():N}";
        if (request.Stream)
            return TypedResults.ServerSentEvents(SseStream.WithDone(StreamAsync(id, services.Model.Id, generations[0], services.Metrics, clock, runUntil),
                services.Json.Value.SerializerOptions, services.Context));
        using var activity = GmsaTelemetry.StartGeneration(valid[0], stream: false);
        var outcomes = await Task.WhenAll(generations.Select(g => g.Completion));
        activity.Finish(outcomes[0]);
        foreach (var o in outcomes) services.Metrics.Completed(o, clock.Elapsed, stream: false);
        return TypedResults.Ok(CompletionResponse.From(id, services.Model.Id, outcomes, n));
    }

    static ProblemHttpResult TooManyRequests(CompletionServices services)
    {
        var serving = services.Serving.Value;
        services.Metrics.Rejected();
        return Hosting.TooManyRequests.Problem(services.Context, serving,
            $"all {serving.MaxQueuedRequests} slots ({ServingOptions.Section}:MaxQueuedRequests) are taken; retry after {serving.RetryAfterSeconds} s");
    }

    /// <summary>One chunk per text piece (stop sequences already applied by the scheduler), then the final one with usage and timings.</summary>
    static async IAsyncEnumerable<CompletionChunk> StreamAsync(string id, string model, ScheduledGeneration generation,
        CompletionMetrics metrics, Stopwatch clock, [EnumeratorCancellation] CancellationToken cancellation)
    {
        using var activity = GmsaTelemetry.StartGeneration(generation.Request, stream: true);
        await foreach (var piece in generation.Text.ReadAllAsync(cancellation))
            yield return CompletionChunk.Piece(id, model, piece);
        var outcome = await generation.Completion;
        activity.Finish(outcome);
        metrics.Completed(outcome, clock.Elapsed, stream: true);
        yield return CompletionChunk.Final(id, model, outcome);
    }
}

/// <summary>What the completion handler needs besides the request body; [FromServices] also keeps request validation out of them.</summary>
public sealed record CompletionServices(
    [FromServices] CompletionRequestValidator Validator,
    [FromServices] GenerationScheduler Scheduler,
    [FromServices] CompletionMetrics Metrics,
    [FromServices] ModelInfo Model,
    [FromServices] IOptions<ServingOptions> Serving,
    [FromServices] IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions> Json,
    HttpContext Context);
