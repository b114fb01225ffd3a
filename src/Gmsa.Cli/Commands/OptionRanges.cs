using System.CommandLine;

namespace Gmsa.Cli.Commands;

/// <summary>
/// Bounds on whole-number options, checked while the command line parses, so a count of 0 is one line naming the option
/// ("--repeats must be >= 1, got 0") instead of an index error from deep inside, or figures measured over nothing.
/// </summary>
internal static class OptionRanges
{
    public static Option<int> AtLeast(this Option<int> option, int min) => option.Within(min, int.MaxValue);

    public static Option<int> Within(this Option<int> option, int min, int max)
    {
        option.Validators.Add(result =>
        {
            int value = result.GetValueOrDefault<int>();
            if (value < min || value > max)
                result.AddError(max == int.MaxValue ? $"{option.Name} must be >= {min}, got {value}" : $"{option.Name} must be in [{min}, {max}], got {value}");
        });
        return option;
    }

    public static Option<int[]> EachAtLeast(this Option<int[]> option, int min)
    {
        option.Validators.Add(result =>
        {
            var values = result.GetValueOrDefault<int[]>() ?? [];
            if (values.Length == 0) result.AddError($"{option.Name} needs at least one value");
            else if (Array.FindIndex(values, v => v < min) is var bad and >= 0) result.AddError($"{option.Name} takes values >= {min}, got {values[bad]}");
        });
        return option;
    }
}
