using Gmsa.Api.Contracts;
using Gmsa.Api.Options;
using Microsoft.Extensions.Options;
using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace Gmsa.Api.Hosting;

/// <summary>
/// The completion request's schema as the service enforces it: only `prompt` is required (a bool property is otherwise
/// listed as required) and `max_tokens` stops at this service's
/// MaxNewTokens rather than int.MaxValue. On every request schema, `stream` is optional with default false.
/// (Unknown fields: <see cref="UnknownFieldsAllowedFilter"/>.)
/// </summary>
public sealed class CompletionLimitsSchemaFilter(IOptions<ServingOptions> serving) : ISchemaFilter
{
    public void Apply(IOpenApiSchema schema, SchemaFilterContext context)
    {
        if (schema is not OpenApiSchema s) return;
        // every request's stream (completions, chat, answer, reconstruct) is an optional bool, false when left out or null
        if (s.Properties?.TryGetValue("stream", out var stream) == true && stream is OpenApiSchema st)
        {
            s.Required?.Remove("stream");
            st.Default = System.Text.Json.Nodes.JsonValue.Create(false);
        }
        if (context.Type != typeof(CompletionRequest)) return;
        s.Required = new HashSet<string> { "prompt" };
        if (s.Properties?.TryGetValue("max_tokens", out var maxTokens) == true && maxTokens is OpenApiSchema m)
            m.Maximum = serving.Value.MaxNewTokens.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }
}
