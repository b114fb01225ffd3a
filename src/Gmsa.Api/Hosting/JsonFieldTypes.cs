using System.ComponentModel;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Gmsa.Api.Hosting;

/// <summary>
/// What JSON a request field takes, found from the request type and the JSON path of an error ("$.messages[0].content"),
/// so a value of the wrong type is answered "must be an integer" rather than with System.Text.Json's .NET type names.
/// </summary>
public static class JsonFieldTypes
{
    /// <summary>"an integer", "a string", ... for the field at <paramref name="path"/> of <paramref name="root"/>; null when unknown.</summary>
    public static string? Describe(JsonSerializerOptions options, Type root, string? path)
    {
        var type = Resolve(options, root, path);
        return type is null ? null : DescribeType(options, type);
    }

    static Type? Resolve(JsonSerializerOptions options, Type root, string? path)
    {
        if (path is null || !path.StartsWith('$')) return null;
        var type = root;
        int i = 1;
        while (i < path.Length)
        {
            var info = options.GetTypeInfo(Nullable.GetUnderlyingType(type) ?? type);
            if (path[i] == '.')
            {
                int end = path.IndexOfAny(['.', '['], i + 1);
                string name = path[(i + 1)..(end < 0 ? path.Length : end)];
                var property = info.Kind == JsonTypeInfoKind.Object ? info.Properties.FirstOrDefault(p => p.Name == name) : null;
                if (property is null) return null;
                type = property.PropertyType;
                i = end < 0 ? path.Length : end;
            }
            else if (path[i] == '[' && info.Kind == JsonTypeInfoKind.Enumerable && info.ElementType is { } element && path.IndexOf(']', i) is > 0 and var close)
            {
                if (path[i + 1] == '\'') return null;    // $['odd name']: not one of these contracts' names
                type = element;
                i = close + 1;
            }
            else return null;
        }
        return type;
    }

    static string? DescribeType(JsonSerializerOptions options, Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type.GetCustomAttribute<DescriptionAttribute>() is { } described) return described.Description;
        if (type == typeof(string)) return "a string";
        if (type == typeof(bool)) return "true or false";
        if (type == typeof(int) || type == typeof(long) || type == typeof(short) || type == typeof(uint) || type == typeof(ulong)) return "an integer";
        if (type == typeof(float) || type == typeof(double) || type == typeof(decimal)) return "a number";
        if (type == typeof(JsonElement)) return null;   // any JSON: the handler checks it
        return options.GetTypeInfo(type).Kind switch
        {
            JsonTypeInfoKind.Enumerable => options.GetTypeInfo(type).ElementType is { } element && DescribeType(options, element) is { } each
                ? "an array of " + Plural(each) : "an array",
            JsonTypeInfoKind.Object or JsonTypeInfoKind.Dictionary => "a JSON object",
            _ => null,
        };
    }

    /// <summary>"a string" → "strings", "an integer" → "integers", "a JSON object" → "JSON objects".</summary>
    static string Plural(string one) =>
        one.StartsWith("a ", StringComparison.Ordinal) && one.IndexOf(' ', 2) < 0 ? one[2..] + "s"
        : one.StartsWith("an ", StringComparison.Ordinal) && one.IndexOf(' ', 3) < 0 ? one[3..] + "s"
        : one == "a JSON object" ? "JSON objects" : "items each " + one;
}
