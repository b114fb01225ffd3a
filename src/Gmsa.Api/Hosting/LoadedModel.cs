using Gmsa.Api.Options;
using Gmsa.Engine.Compression;
using Gmsa.Engine.Generation;
using Gmsa.Engine.Model;

namespace Gmsa.Api.Hosting;

/// <summary>The model folder as loaded: its language model and, when it has one, the compressor on top of it.</summary>
public sealed class LoadedModel(LanguageModel language, GmsaModel? gmsa) : IDisposable
{
    public LanguageModel Language { get; } = language;
    public GmsaModel? Gmsa { get; } = gmsa;

    /// <summary>
    /// Loads the folder with its compressor: the configured one, else MODEL/compressor when present; `none` (or no
    /// compressor folder) serves completions only.
    /// </summary>
    public static LoadedModel Load(ModelOptions model, CompressionOptions compression, string contentRoot)
    {
        var device = Devices.Parse(model.Device);
        var dtype = model.Dtype is { Length: > 0 } d ? Devices.ParseDtype(d) : (TorchSharp.torch.ScalarType?)null;
        string? folder = compression.Compressor switch
        {
            "none" => null,
            null or "" => CompressorFolder.Exists(Path.Combine(model.Path, GmsaModel.DefaultCompressorFolder)) ? Path.Combine(model.Path, GmsaModel.DefaultCompressorFolder) : null,
            var configured => ModelFolder.Resolve(configured, contentRoot),
        };
        if (folder is null) return new LoadedModel(LanguageModel.Load(model.Path, device, dtype), null);
        var gmsa = GmsaModel.Load(model.Path, folder, device, dtype, compression.FoldRestateAdapter);
        return new LoadedModel(gmsa.Language, gmsa);
    }

    public void Dispose()
    {
        if (Gmsa is not null) Gmsa.Dispose();   // the compressor, then the language model (which tolerates a second Dispose)
        else Language.Dispose();
    }
}

/// <summary>The compression side of the service, or null when the loaded model has no compressor.</summary>
public sealed record CompressionHost(CompressionService? Service) : IAsyncDisposable
{
    public ValueTask DisposeAsync() => Service?.Batcher.DisposeAsync() ?? ValueTask.CompletedTask;
}
