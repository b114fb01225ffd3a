using System.Globalization;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace Gmsa.Api.Hosting;

/// <summary>
/// API Explorer keeps one body type per status code. POST /v1/completions answers 200 with JSON or, when asked to stream,
/// with server-sent events, and POST /v1/compress with JSON or a file (safetensors, npy): this puts every declared media
/// type into the document, a declaration without a body type (a file) as binary.
/// </summary>
public sealed class AllResponseTypesFilter : IOperationFilter
{
    public void Apply(OpenApiOperation operation, OperationFilterContext context)
    {
        var declared = context.ApiDescription.ActionDescriptor.EndpointMetadata.OfType<IProducesResponseTypeMetadata>();
        foreach (var produces in declared)
        {
            var status = produces.StatusCode.ToString(CultureInfo.InvariantCulture);
            if (operation.Responses is null || !operation.Responses.TryGetValue(status, out var response) || response is not OpenApiResponse r) continue;
            foreach (var mediaType in produces.ContentTypes)
            {
                r.Content ??= new Dictionary<string, IOpenApiMediaType>();
                if (!r.Content.ContainsKey(mediaType))
                    r.Content[mediaType] = new OpenApiMediaType
                    {
                        Schema = produces.Type is null || produces.Type == typeof(void)
                            ? new OpenApiSchema { Type = JsonSchemaType.String, Format = "binary" }
                            : context.SchemaGenerator.GenerateSchema(produces.Type, context.SchemaRepository),
                    };
            }
        }
    }
}
