using Gmsa.Engine.Generation;
using Gmsa.Engine.Model;

namespace Gmsa.Api.Contracts;

/// <summary>GET /v1/models: the one model this service serves, in OpenAI's list shape.</summary>
public sealed record ModelList(IReadOnlyList<ModelInfo> Data)
{
    public string Object => "list";
}

/// <summary>OpenAI's model fields (id, object, created, owned_by) and Gmsa's description, with the compression rates it serves.</summary>
public sealed record ModelInfo(string Id, string Family, long Parameters, int ContextLength, int VocabSize, string Dtype, string Device, string Tokenizer)
{
    public string Object => "model";
    public long Created { get; init; } = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
    public string OwnedBy => "gmsa";
    /// <summary>Rates the compressor was trained on (null without a compressor); any rate >= 1 is accepted.</summary>
    public IReadOnlyList<int>? CompressionRates { get; init; }

    /// <summary>Reads the loaded model's description; parameters are counted on the model's own thread.</summary>
    public static ModelInfo Describe(LanguageModel lm)
    {
        var config = lm.Model.Config;
        long parameters = lm.Runner.Run(() => lm.Model.ParameterCount());
        return new ModelInfo(
            Id: Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(lm.Directory))),
            Family: config.ModelType,
            Parameters: parameters,
            ContextLength: config.ContextLength,
            VocabSize: config.VocabSize,
            Dtype: Devices.DtypeName(lm.Model.DType),
            Device: lm.Model.Device.ToString(),
            Tokenizer: lm.Tokenizer.Kind);
    }
}
