using System.Diagnostics;
using Gmsa.Api.Options;
using Microsoft.AspNetCore.Http.Timeouts;
using Microsoft.Extensions.Options;

namespace Gmsa.Api.Hosting;

/// <summary>
/// A stream answers 200 before it ends, so the request-timeout middleware's 504 cannot reach it, and the middleware's
/// cancellation of RequestAborted would cancel the very write that tells the client why. A stream therefore takes its
/// deadline over: the middleware's timer is switched off, and a token of its own fires at the same moment (counted
/// from the request's start), ending the generation while the response can still carry an error event.
/// </summary>
public static class RequestDeadline
{
    const string StartedKey = "gmsa.request_started", DeadlineKey = "gmsa.stream_deadline";

    /// <summary>Called first thing for every request (the access middleware): the moment deadlines count from.</summary>
    public static void MarkStart(HttpContext context) => context.Items[StartedKey] = Stopwatch.GetTimestamp();

    /// <summary>The token a streamed generation runs under: the client going away, or the request's deadline.</summary>
    public static CancellationToken TakeOver(HttpContext context)
    {
        var timeout = context.Features.Get<IHttpRequestTimeoutFeature>();
        int seconds = context.RequestServices.GetRequiredService<IOptions<AccessOptions>>().Value.RequestTimeoutSeconds;
        if (timeout is null || seconds <= 0 || timeout.RequestTimeoutToken.IsCancellationRequested) return context.RequestAborted;
        timeout.DisableTimeout();
        var elapsed = context.Items[StartedKey] is long started ? Stopwatch.GetElapsedTime(started) : TimeSpan.Zero;
        var deadline = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        deadline.CancelAfter(TimeSpan.FromSeconds(seconds) - elapsed is { Ticks: > 0 } left ? left : TimeSpan.Zero);
        context.Response.RegisterForDispose(deadline);
        context.Items[DeadlineKey] = deadline;
        return deadline.Token;
    }

    /// <summary>Whether the request's deadline (not the client leaving) ended it.</summary>
    public static bool Passed(HttpContext context) =>
        !context.RequestAborted.IsCancellationRequested &&
        (context.Items[DeadlineKey] is CancellationTokenSource { IsCancellationRequested: true } ||
         context.Features.Get<IHttpRequestTimeoutFeature>()?.RequestTimeoutToken.IsCancellationRequested == true);
}
