using System.Globalization;
using System.Text.Json.Nodes;
using Gmsa.Api.Contracts;
using Gmsa.Api.Options;
using Microsoft.Extensions.Options;
using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace Gmsa.Api.Hosting;

/// <summary>
/// The request schemas' limits as the service enforces them: the completion request needs only `prompt` (a bool property
/// is otherwise listed as required), and every route's `max_tokens` (chat's `max_completion_tokens` too) stops at this
/// service's MaxNewTokens rather than int.MaxValue. On every request schema, `stream` is optional with default false, and
/// so is chat's `stream_options.include_usage`. (Unknown fields: <see cref="UnknownFieldsAllowedFilter"/>.)
/// </summary>
public sealed class CompletionLimitsSchemaFilter(IOptions<ServingOptions> serving) : ISchemaFilter
{
    static readonly string[] MaxTokenFields = ["max_tokens", "max_completion_tokens"];

    public void Apply(IOpenApiSchema schema, SchemaFilterContext context)
    {
        if (schema is not OpenApiSchema s) return;
        // every request's stream (completions, chat, answer, reconstruct) is an optional bool, false when left out or null
        OptionalFalse(s, "stream");
        if (context.Type == typeof(ChatStreamOptions)) OptionalFalse(s, "include_usage");
        if (context.Type == typeof(CompletionRequest)) s.Required = new HashSet<string> { "prompt" };
        // CheckMaxNewTokens refuses more on every generating route: completions, chat, answer, reconstruct
        foreach (var field in MaxTokenFields)
            if (s.Properties?.TryGetValue(field, out var maxTokens) == true && maxTokens is OpenApiSchema m)
                m.Maximum = serving.Value.MaxNewTokens.ToString(CultureInfo.InvariantCulture);
    }

    static void OptionalFalse(OpenApiSchema s, string field)
    {
        if (s.Properties?.TryGetValue(field, out var property) != true || property is not OpenApiSchema p) return;
        s.Required?.Remove(field);
        p.Default = JsonValue.Create(false);
    }
}
