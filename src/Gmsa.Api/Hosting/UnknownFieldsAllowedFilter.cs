using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace Gmsa.Api.Hosting;

/// <summary>
/// Swashbuckle writes <c>additionalProperties: false</c> on every object schema, but the service ignores a request's
/// unknown fields (OpenAI's clients send fields this service has no use for, such as <c>user</c> or <c>logit_bias</c>):
/// a client generated from the document would refuse to send what the service accepts. Every schema a request body
/// reaches (the body's, its messages', its stream_options') is left open; response schemas keep the generator's default.
/// </summary>
public sealed class UnknownFieldsAllowedFilter : IDocumentFilter
{
    public void Apply(OpenApiDocument document, DocumentFilterContext context)
    {
        var opened = new HashSet<IOpenApiSchema>(ReferenceEqualityComparer.Instance);
        foreach (var operation in document.Paths.Values.SelectMany(p => p.Operations?.Values ?? Enumerable.Empty<OpenApiOperation>()))
            foreach (var media in operation.RequestBody?.Content?.Values ?? [])
                Open(media.Schema, document, opened);
    }

    /// <summary>Opens <paramref name="schema"/> (the component it refers to, if a reference) and every schema inside it.</summary>
    static void Open(IOpenApiSchema? schema, OpenApiDocument document, HashSet<IOpenApiSchema> opened)
    {
        if (schema is OpenApiSchemaReference reference)
            schema = reference.Reference.Id is { } id && document.Components?.Schemas?.TryGetValue(id, out var target) == true ? target : null;
        if (schema is not OpenApiSchema s || !opened.Add(s)) return;
        if (s.AdditionalProperties is null) s.AdditionalPropertiesAllowed = true;   // a dictionary's value schema stays as it is
        foreach (var inner in (s.Properties?.Values ?? []).Concat(s.OneOf ?? []).Concat(s.AnyOf ?? []).Concat(s.AllOf ?? []))
            Open(inner, document, opened);
        Open(s.Items, document, opened);
        Open(s.AdditionalProperties, document, opened);
    }
}
