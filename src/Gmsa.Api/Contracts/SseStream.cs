using System.Runtime.CompilerServices;
using System.Text.Json;

namespace Gmsa.Api.Contracts;

/// <summary>
/// Server-sent events as OpenAI sends them: each chunk's JSON (the service's snake_case options), then a last
/// <c>data: [DONE]</c>, which OpenAI's clients wait for and which is not JSON.
/// </summary>
public static class SseStream
{
    public const string Done = "[DONE]";

    public static async IAsyncEnumerable<string> WithDone<T>(IAsyncEnumerable<T> chunks, JsonSerializerOptions json,
        [EnumeratorCancellation] CancellationToken cancellation = default)
    {
        await foreach (var chunk in chunks.WithCancellation(cancellation))
            yield return JsonSerializer.Serialize(chunk, json);
        yield return Done;
    }
}
