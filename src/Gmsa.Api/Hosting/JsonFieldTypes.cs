using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Globalization;
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
    /// <summary>
    /// "an integer from 1 to 2147483647", "a string", ... for the field at <paramref name="path"/> of <paramref name="root"/>;
    /// null when unknown. An integer's range is its [Range] where it has one, else its type's: a value past it (a seed of
    /// 2^64) fails to read as a wrong type does, and the answer says which integers the field takes.
    /// </summary>
    public static string? Describe(JsonSerializerOptions options, Type root, string? path)
    {
        var (type, property) = Resolve(options, root, path);
        if (type is null) return null;
        var described = DescribeType(options, type);
        return described == "an integer" && IntegerRange(Nullable.GetUnderlyingType(type) ?? type, property) is var (min, max)
            ? $"an integer from {min} to {max}" : described;
    }

    /// <summary>The field's [Range] bounds, else its integer type's; null for a type that is not an integer.</summary>
    public static (string Min, string Max)? IntegerRange(Type type, ICustomAttributeProvider? property)
    {
        (decimal Min, decimal Max)? limits = type == typeof(int) ? (int.MinValue, int.MaxValue)
            : type == typeof(long) ? (long.MinValue, long.MaxValue)
            : type == typeof(short) ? (short.MinValue, short.MaxValue)
            : type == typeof(uint) ? (0, uint.MaxValue)
            : type == typeof(ulong) ? (0, ulong.MaxValue)
            : null;
        if (limits is not var (min, max)) return null;
        // [Range(1024, long.MaxValue)] binds the double overload: its bound is 2^63 as a double, shown as the type's own maximum
        static decimal Bound(object value, decimal min, decimal max) =>
            Convert.ToDouble(value, CultureInfo.InvariantCulture) is var d && d >= (double)max ? max : d <= (double)min ? min : Convert.ToDecimal(value, CultureInfo.InvariantCulture);
        if (property?.GetCustomAttributes(typeof(RangeAttribute), inherit: true).FirstOrDefault() is RangeAttribute range)
            (min, max) = (Bound(range.Minimum, min, max), Bound(range.Maximum, min, max));
        return (min.ToString(CultureInfo.InvariantCulture), max.ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>The type at <paramref name="path"/>, and the property it is read into (null for an array's element).</summary>
    static (Type? Type, ICustomAttributeProvider? Property) Resolve(JsonSerializerOptions options, Type root, string? path)
    {
        if (path is null || !path.StartsWith('$')) return (null, null);
        var type = root;
        ICustomAttributeProvider? attributes = null;
        int i = 1;
        while (i < path.Length)
        {
            var info = options.GetTypeInfo(Nullable.GetUnderlyingType(type) ?? type);
            if (path[i] == '.')
            {
                int end = path.IndexOfAny(['.', '['], i + 1);
                string name = path[(i + 1)..(end < 0 ? path.Length : end)];
                var property = info.Kind == JsonTypeInfoKind.Object ? info.Properties.FirstOrDefault(p => p.Name == name) : null;
                if (property is null) return (null, null);
                type = property.PropertyType;
                attributes = property.AttributeProvider;
                i = end < 0 ? path.Length : end;
            }
            else if (path[i] == '[' && info.Kind == JsonTypeInfoKind.Enumerable && info.ElementType is { } element && path.IndexOf(']', i) is > 0 and var close)
            {
                if (path[i + 1] == '\'') return (null, null);    // $['odd name']: not one of these contracts' names
                type = element;
                attributes = null;
                i = close + 1;
            }
            else return (null, null);
        }
        return (type, attributes);
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
