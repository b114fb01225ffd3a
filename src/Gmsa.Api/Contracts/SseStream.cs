using System.Runtime.CompilerServices;
using System.Text.Json;
using Gmsa.Api.Options;
using Microsoft.Extensions.Options;

namespace Gmsa.Api.Contracts;

/// <summary>
/// Server-sent events as OpenAI sends them: each chunk's JSON (the service's snake_case options), then a last
/// <c>data: [DONE]</c>, which OpenAI's clients wait for and which is not JSON. A stream stopped by its deadline ends
/// with an error event before it (OpenAI's <c>{"error": {...}}</c>, which its clients raise): the 504 a waiting request
/// gets cannot be sent once the stream's 200 has started (<see cref="Hosting.RequestDeadline"/>).
/// </summary>
public static class SseStream
{
    public const string Done = "[DONE]";

    public static async IAsyncEnumerable<string> WithDone<T>(IAsyncEnumerable<T> chunks, JsonSerializerOptions json, HttpContext context,
        [EnumeratorCancellation] CancellationToken cancellation = default)
    {
        await using var items = chunks.WithCancellation(cancellation).GetAsyncEnumerator();
        while (true)
        {
            bool more;
            try { more = await items.MoveNextAsync(); }
            catch (OperationCanceledException) when (Hosting.RequestDeadline.Passed(context))
            {
                more = false;
            }
            if (!more) break;
            yield return JsonSerializer.Serialize(items.Current, json);
        }
        if (Hosting.RequestDeadline.Passed(context)) yield return DeadlineEvent(context, json);
        yield return Done;    // after an error event too, as vLLM does: clients that wait for it stop waiting
    }

    static string DeadlineEvent(HttpContext context, JsonSerializerOptions json)
    {
        int seconds = context.RequestServices.GetRequiredService<IOptions<AccessOptions>>().Value.RequestTimeoutSeconds;
        context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(SseStream))
            .LogWarning("Stream stopped at its deadline of {Seconds} s ({Section}:RequestTimeoutSeconds)", seconds, AccessOptions.Section);
        return JsonSerializer.Serialize(new { Error = new Hosting.OpenAiError(
            $"the request ran past {seconds} s ({AccessOptions.Section}:RequestTimeoutSeconds) and was stopped; its slot is free", "timeout_error", null, "504") }, json);
    }
}
