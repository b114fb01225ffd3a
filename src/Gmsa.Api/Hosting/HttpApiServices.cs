using System.Text.Json;
using System.Text.Json.Serialization;
using Gmsa.Api.Options;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;
using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace Gmsa.Api.Hosting;

public static class HttpApiServices
{
    /// <summary>snake_case JSON, request validation, ProblemDetails for every error, the body size limit and Swagger.</summary>
    public static WebApplicationBuilder AddGmsaHttpApi(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
            o.SerializerOptions.DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull;
            // The web defaults read "12" as 12; a string where a number belongs is a client error, answered 400.
            o.SerializerOptions.NumberHandling = JsonNumberHandling.Strict;
        });
        services.AddValidation();

        // DataAnnotations errors are keyed by C# property name; clients know the JSON names.
        services.AddProblemDetails(o => o.CustomizeProblemDetails = context =>
        {
            if (context.ProblemDetails is HttpValidationProblemDetails validation) SnakeCaseKeys(validation.Errors);
            context.ProblemDetails.Detail ??= StatusDetail(context.HttpContext);
            ProblemTypes.Apply(context.ProblemDetails, context.ProblemDetails.Status ?? context.HttpContext.Response.StatusCode);
            context.ProblemDetails.Extensions["error"] = OpenAiError.From(context.ProblemDetails);
        });
        // After ASP.NET's writer: takes the errors it declines for their Accept header, so every error has the same body
        services.AddSingleton<IProblemDetailsWriter, AnyAcceptProblemDetailsWriter>();
        // Malformed bodies throw instead of ending as a bare 400, so BadRequestExceptionHandler can explain them.
        services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        services.AddExceptionHandler<BadRequestExceptionHandler>();
        // Kestrel is built with the app, before start-up validation can report a bad setting in one line:
        // read the raw value here and let ServingOptions' own validation refuse it afterwards.
        services.AddOptions<KestrelServerOptions>().Configure<IConfiguration>((kestrel, configuration) =>
            kestrel.Limits.MaxRequestBodySize =
                long.TryParse(configuration[$"{ServingOptions.Section}:{nameof(ServingOptions.MaxRequestBodyBytes)}"], out var limit) && limit > 0
                    ? limit
                    : new ServingOptions().MaxRequestBodyBytes);

        services.AddEndpointsApiExplorer();
        services.AddSwaggerGen(o =>
        {
            o.SwaggerDoc("v1", new OpenApiInfo
            {
                Title = "Gmsa",
                Version = "v1",
                Description = "Text completion with the embedded LLaMA-family model, and GMSA context compression. Every error is application/problem+json " +
                    "carrying OpenAI's error object; a route asked with a method it does not answer gets 405 with an Allow header.",
            });
            o.SupportNonNullableReferenceTypes();
            o.NonNullableReferenceTypesAsRequired();
            o.OperationFilter<AllResponseTypesFilter>();
            o.SchemaFilter<CompletionLimitsSchemaFilter>();
            o.DocumentFilter<UnknownFieldsAllowedFilter>();
            o.SchemaFilter<ProblemSchemaFilter>();
            o.OperationFilter<ErrorResponsesFilter>();
            o.OperationFilter<ExamplesFilter>();
            o.MapType<Contracts.ChatContent>(ChatContentSchema);
            o.MapType<Contracts.CompletionPrompt>(CompletionPromptSchema);
        });
        // With API keys set the document says so, and clients generated from it send the key: Bearer, on every /v1 route
        services.AddOptions<SwaggerGenOptions>().Configure<IOptions<AccessOptions>>((o, access) =>
        {
            if (access.Value.ApiKeys.Length == 0) return;
            o.AddSecurityDefinition(ApiKeyScheme, new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http,
                Scheme = "bearer",
                Description = $"One of {AccessOptions.Section}:ApiKeys, as 'Authorization: Bearer <key>'.",
            });
            o.AddSecurityRequirement(document => new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(ApiKeyScheme, document)] = [] });
        });
        return builder;
    }

    const string ApiKeyScheme = "api_key";

    /// <summary>
    /// What to do about the statuses ASP.NET sets with a title alone: a body that is not JSON (curl's -d without a header
    /// sends a form), a route asked with the wrong method, and a path no route answers.
    /// </summary>
    static string? StatusDetail(HttpContext http) => http.Response.StatusCode switch
    {
        StatusCodes.Status415UnsupportedMediaType =>
            $"{http.Request.Method} {http.Request.Path} reads a JSON body: send it with Content-Type: application/json " +
            $"(this request's was {(string.IsNullOrEmpty(http.Request.ContentType) ? "missing" : $"'{http.Request.ContentType}'")})",
        StatusCodes.Status405MethodNotAllowed =>
            $"{http.Request.Path} does not answer {http.Request.Method}" +
            (http.Response.Headers.Allow is { Count: > 0 } allow ? $"; it answers {string.Join(", ", allow.ToArray())}" : ""),
        StatusCodes.Status404NotFound when http.GetEndpoint() is null => $"no route answers {http.Request.Path}: /swagger lists the routes",
        _ => null,
    };

    /// <summary>A chat message's content as its converter reads it: a string, or OpenAI's array of parts.</summary>
    static OpenApiSchema ChatContentSchema() => new()
    {
        Description = "A string, or an array of text parts read concatenated in order (other part types, such as image_url, are refused).",
        OneOf =
        [
            new OpenApiSchema { Type = JsonSchemaType.String },
            new OpenApiSchema
            {
                Type = JsonSchemaType.Array,
                Items = new OpenApiSchema
                {
                    Type = JsonSchemaType.Object,
                    Required = new HashSet<string> { "type", "text" },
                    Properties = new Dictionary<string, IOpenApiSchema>
                    {
                        ["type"] = new OpenApiSchema { Type = JsonSchemaType.String, Enum = [System.Text.Json.Nodes.JsonValue.Create(Contracts.ChatContent.TextType)] },
                        ["text"] = new OpenApiSchema { Type = JsonSchemaType.String },
                    },
                },
            },
        ],
    };

    /// <summary>A completion's prompt as its converter reads it: a string, or an array of strings completed side by side.</summary>
    static OpenApiSchema CompletionPromptSchema() => new()
    {
        Description = "Text to continue, or an array of texts: each is completed n times, its choices numbered after the previous prompt's.",
        OneOf =
        [
            new OpenApiSchema { Type = JsonSchemaType.String },
            new OpenApiSchema { Type = JsonSchemaType.Array, Items = new OpenApiSchema { Type = JsonSchemaType.String } },
        ],
    };

    static void SnakeCaseKeys(IDictionary<string, string[]> errors)
    {
        foreach (var (key, messages) in errors.ToArray())
        {
            var name = JsonNamingPolicy.SnakeCaseLower.ConvertName(key);
            if (name == key) continue;
            errors.Remove(key);
            errors[name] = errors.TryGetValue(name, out var more) ? [.. more, .. messages] : messages;
        }
    }
}
