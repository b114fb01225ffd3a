using System.Text.Json.Nodes;

namespace Gmsa.Api.Tests.Infrastructure;

/// <summary>Reads the served OpenAPI document and checks a real body against a schema in it, as a generated client would read it.</summary>
public static class OpenApiSchemas
{
    public static async Task<JsonNode> DocumentAsync(ApiFactory factory, CancellationToken cancellation) =>
        JsonNode.Parse(await factory.CreateClient().GetStringAsync("/swagger/v1/swagger.json", cancellation))!;

    /// <summary>The schema of <paramref name="route"/>'s <paramref name="status"/> answer as <paramref name="mediaType"/>; fails when not documented.</summary>
    public static JsonNode ResponseSchema(JsonNode document, string method, string route, int status, string mediaType)
    {
        var response = document["paths"]?[route]?[method]?["responses"]?[status.ToString(System.Globalization.CultureInfo.InvariantCulture)];
        Assert.True(response is not null, $"{method.ToUpperInvariant()} {route} does not document {status}");
        var media = response["content"]?[mediaType];
        Assert.True(media is not null, $"{method.ToUpperInvariant()} {route}'s {status} does not list {mediaType}");
        return media["schema"]!;
    }

    /// <summary>The component a <c>$ref</c> names, else the schema itself.</summary>
    public static JsonObject Resolve(JsonNode document, JsonNode schema) =>
        schema["$ref"] is { } reference
            ? document["components"]!["schemas"]![((string)reference!).Split('/')[^1]]!.AsObject()
            : schema.AsObject();

    /// <summary>
    /// Asserts that <paramref name="body"/> holds every field <paramref name="schema"/> requires (non-null unless nullable), no
    /// field it does not declare where it forbids others, and JSON of the declared type, down through objects and arrays.
    /// </summary>
    public static void AssertFits(JsonNode document, JsonNode schema, JsonNode? body, string path = "$")
    {
        var s = Resolve(document, schema);
        if (body is null)
        {
            Assert.True((bool?)s["nullable"] == true, $"{path} is null; the schema does not allow it");
            return;
        }
        switch ((string?)s["type"])
        {
            case "object":
                var obj = Assert.IsType<JsonObject>(body, exactMatch: false);
                foreach (var required in s["required"]?.AsArray().Select(r => (string)r!) ?? [])
                    Assert.True(obj.ContainsKey(required), $"{path} lacks {required}, which the document requires: {obj.ToJsonString()}");
                var properties = s["properties"]?.AsObject();
                foreach (var (name, value) in obj)
                {
                    if (properties?[name] is { } property) AssertFits(document, property, value, $"{path}.{name}");
                    else if (s["additionalProperties"] is JsonObject others) AssertFits(document, others, value, $"{path}.{name}");   // a dictionary's values
                    else Assert.True((bool?)s["additionalProperties"] != false, $"{path}.{name} is sent but not in the document, which forbids other fields");
                }
                break;
            case "array":
                int i = 0;
                foreach (var item in Assert.IsType<JsonArray>(body, exactMatch: false)) AssertFits(document, s["items"]!, item, $"{path}[{i++}]");
                break;
            case "string":
                Assert.True(body.GetValueKind() == System.Text.Json.JsonValueKind.String, $"{path} should be a string: {body.ToJsonString()}");
                break;
            case "integer" or "number":
                Assert.True(body.GetValueKind() == System.Text.Json.JsonValueKind.Number, $"{path} should be a number: {body.ToJsonString()}");
                break;
            case "boolean":
                Assert.True(body.GetValueKind() is System.Text.Json.JsonValueKind.True or System.Text.Json.JsonValueKind.False, $"{path} should be true or false");
                break;
        }
    }
}
