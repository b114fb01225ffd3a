using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Reflection;
using Gmsa.Api.Hosting;
using Microsoft.Extensions.Configuration;

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

    /// <summary>
    /// Settings under Gmsa that no options class reads, one line each with the nearest real name, and a single value given
    /// to a list setting (<c>Gmsa__Access__ApiKeys=k</c> where the list wants <c>__0</c>, <c>__1</c>, ...). The binder
    /// ignores both without a word, leaving what they meant to set at its default: a rate limit off, an API open.
    /// </summary>
    public static IEnumerable<string> Unknown(IConfiguration configuration)
    {
        const string Root = "Gmsa";
        var sections = Classes.ToDictionary(c => SectionOf(c)[(Root.Length + 1)..], StringComparer.OrdinalIgnoreCase);
        foreach (var section in configuration.GetSection(Root).GetChildren())
        {
            if (!sections.TryGetValue(section.Key, out var options))
            {
                yield return $"{section.Path} is not a section of settings{Nearest(section.Key, sections.Keys, Root)}: {Root} has {string.Join(", ", sections.Keys)}";
                continue;
            }
            var properties = options.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite).ToList();
            var names = properties.Select(p => p.Name).ToList();
            foreach (var setting in section.GetChildren())
            {
                var property = properties.FirstOrDefault(p => string.Equals(p.Name, setting.Key, StringComparison.OrdinalIgnoreCase));
                if (property is null)
                    yield return $"{setting.Path} is not a setting{Nearest(setting.Key, names, section.Path)}: {section.Path} has {string.Join(", ", names)}";
                else if (property.PropertyType.IsArray && !string.IsNullOrEmpty(setting.Value))
                    yield return $"{setting.Path} is a list: set its entries as {setting.Path}:0, :1, ... ({setting.Path.Replace(":", "__", StringComparison.Ordinal)}__0, __1, ... " +
                                 "in the environment); a single value there is not read";
            }
        }
    }

    /// <summary>" (did you mean Gmsa:Serving:MaxBatchSize?)" when a name is within a third of its letters of the typed one.</summary>
    static string Nearest(string typed, IEnumerable<string> names, string parent)
    {
        var (best, distance) = names.Select(n => (n, EditDistance(typed.ToLowerInvariant(), n.ToLowerInvariant()))).MinBy(x => x.Item2);
        return best is not null && distance <= Math.Max(1, best.Length / 3) ? $" (did you mean {parent}:{best}?)" : "";
    }

    /// <summary>Levenshtein distance: insertions, deletions and substitutions, one row at a time.</summary>
    static int EditDistance(string a, string b)
    {
        var row = Enumerable.Range(0, b.Length + 1).ToArray();
        for (int i = 1; i <= a.Length; i++)
        {
            int diagonal = row[0];
            row[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                int above = row[j];
                row[j] = Math.Min(Math.Min(row[j] + 1, row[j - 1] + 1), diagonal + (a[i - 1] == b[j - 1] ? 0 : 1));
                diagonal = above;
            }
        }
        return row[b.Length];
    }
}
