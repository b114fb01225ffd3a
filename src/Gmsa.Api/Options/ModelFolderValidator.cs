using Microsoft.Extensions.Options;

namespace Gmsa.Api.Options;

/// <summary>Refuses to start without a model folder, naming the folder and the setting that points at it.</summary>
public sealed class ModelFolderValidator : IValidateOptions<ModelOptions>
{
    public ValidateOptionsResult Validate(string? name, ModelOptions options)
    {
        if (File.Exists(Path.Combine(options.Path, "config.json"))) return ValidateOptionsResult.Success;
        var problem = Directory.Exists(options.Path) ? "has no config.json" : "does not exist";
        return ValidateOptionsResult.Fail(
            $"model folder '{options.Path}' {problem}: set {ModelOptions.Section}:Path (environment variable " +
            $"{ModelOptions.Section.Replace(":", "__")}__Path) to a Hugging Face model folder " +
            "(a relative path is searched for from the content root and from the build output upwards)");
    }
}
