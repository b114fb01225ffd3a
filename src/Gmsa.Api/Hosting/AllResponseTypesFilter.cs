using System.Globalization;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace Gmsa.Api.Hosting;

/// <summary>
/// API Explorer keeps one body type per status code. POST /v1/completions answers 200 with JSON or,
/// when asked to stream, with server-sent events: this puts every declared media type into the document.
/// </summary>
public sealed class AllResponseTypesFilter : IOperationFilter
{
    public void Apply(OpenApiOperation operation, OperationFilterContext context)
    {
        var declared = context.ApiDescription.ActionDescriptor.EndpointMetadata.OfType<IProducesResponseTypeMetadata>();
        foreach (var produces in declared)
        {
            if (produces.Type is null || produces.Type == typeof(void)) continue;
            var status = produces.StatusCode.ToString(CultureInfo.InvariantCulture);
            if (operation.Responses is null || !operation.Responses.TryGetValue(status, out var response) || response.Content is null) continue;
            foreach (var mediaType in produces.ContentTypes)
                if (!response.Content.ContainsKey(mediaType))
                    response.Content[mediaType] = new OpenApiMediaType
                    {
                        Schema = context.SchemaGenerator.GenerateSchema(produces.Type, context.SchemaRepository),
                    };
        }
    }
}
