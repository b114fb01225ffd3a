using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Reflection;
using Microsoft.Extensions.Options;

namespace Gmsa.Api.Options;

/// <summary>
/// The DataAnnotations on an options class, checked at start-up and refused in <see cref="Settings"/>' wording
/// ("Gmsa:Access:DrainSeconds is '900', but it takes a whole number from 0 to 300 (set as ...)") instead of
/// ValidateDataAnnotations' "The field DrainSeconds must be between 0 and 300.", which names neither the section nor where to set it.
/// </summary>
public sealed class SettingsValidator<TOptions> : IValidateOptions<TOptions> where TOptions : class
{
    static readonly string Section = Settings.SectionOf(typeof(TOptions));

    public ValidateOptionsResult Validate(string? name, TOptions options)
    {
        var results = new List<ValidationResult>();
        return Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true)
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail(results.Select(r => Explain(r, options)));
    }

    static string Explain(ValidationResult result, TOptions options)
    {
        // an attribute that words its own refusal with the setting's path (BlankApiKeyRefused) names no member
        if (result.MemberNames.FirstOrDefault() is not { } member || typeof(TOptions).GetProperty(member) is not { } property)
            return result.ErrorMessage ?? $"{Section} is not valid";
        string path = $"{Section}:{member}";
        var value = property.GetValue(options);
        bool outOfRange = property.GetCustomAttribute<RangeAttribute>() is { } range && !range.IsValid(value);
        bool missing = property.GetCustomAttribute<RequiredAttribute>() is { } required && !required.IsValid(value);
        return outOfRange || missing
            ? $"{path} is '{Convert.ToString(value, CultureInfo.InvariantCulture)}', but it takes {Settings.Takes(property.PropertyType, property)} ({Settings.Where(path)})"
            : $"{path} is '{Convert.ToString(value, CultureInfo.InvariantCulture)}': {result.ErrorMessage} ({Settings.Where(path)})";
    }
}

public static class SettingsValidation
{
    /// <summary>ValidateDataAnnotations with the refusals worded as every other start-up refusal is.</summary>
    public static OptionsBuilder<TOptions> ValidateSettings<TOptions>(this OptionsBuilder<TOptions> builder) where TOptions : class
    {
        builder.Services.AddSingleton<IValidateOptions<TOptions>, SettingsValidator<TOptions>>();
        return builder;
    }
}
