using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Reflection;
using Gmsa.Api.Hosting;

namespace Gmsa.Api.Options;

/// <summary>
/// One wording for every start-up refusal of a setting, whether its value failed to convert or to validate: its path,
/// what it takes (its [Range] where it has one), and where to set it.
/// </summary>
public static class Settings
{
    /// <summary>The options classes bound from configuration, each with its <c>Section</c> constant.</summary>
    static readonly Type[] Classes = [typeof(ModelOptions), typeof(ServingOptions), typeof(CompressionOptions), typeof(AccessOptions), typeof(LoggingOptions)];

    /// <summary>The section an options class is bound from (its <c>Section</c> constant).</summary>
    public static string SectionOf(Type options) =>
        (string)options.GetField("Section", BindingFlags.Public | BindingFlags.Static)!.GetRawConstantValue()!;

    /// <summary>The three places a setting is set, by its path ("Gmsa:Serving:MaxNewTokens").</summary>
    public static string Where(string path) =>
        $"set as {path} in appsettings.json, --{path}=..., or {path.Replace(":", "__", StringComparison.Ordinal)}";

    /// <summary>The options property a setting's path binds, or null (an array entry, a section no class reads).</summary>
    public static PropertyInfo? Find(string path)
    {
        int last = path.LastIndexOf(':');
        if (last < 0) return null;
        var options = Classes.FirstOrDefault(c => string.Equals(SectionOf(c), path[..last], StringComparison.OrdinalIgnoreCase));
        return options?.GetProperty(path[(last + 1)..], BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase);
    }

    /// <summary>What a setting of <paramref name="type"/> takes, in words: an enum's names, a number's range, true or false.</summary>
    public static string Takes(Type type, PropertyInfo? property)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        var range = property?.GetCustomAttribute<RangeAttribute>();
        string Text(object bound) => Convert.ToString(bound, CultureInfo.InvariantCulture)!;
        return type switch
        {
            { IsEnum: true } => "one of " + string.Join(", ", Enum.GetNames(type)),
            _ when JsonFieldTypes.IntegerRange(type, property) is var (min, max) => $"a whole number from {min} to {max}",
            _ when (type == typeof(double) || type == typeof(float)) && range is not null => $"a number from {Text(range.Minimum)} to {Text(range.Maximum)}",
            _ when type == typeof(double) || type == typeof(float) => "a number",
            _ when type == typeof(bool) => "true or false",
            _ when property?.GetCustomAttribute<RequiredAttribute>() is not null => "a value",
            _ => $"a value of type {type.Name}",
        };
    }
}
