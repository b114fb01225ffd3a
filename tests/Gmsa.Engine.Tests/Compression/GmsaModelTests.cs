using Gmsa.Engine.Checkpoints;
using Gmsa.Engine.Compression;
using Gmsa.Engine.Generation;
using Gmsa.Engine.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace Gmsa.Engine.Tests.Compression;

/// <summary>
/// The inference facade on the committed gmsa-tiny with a freshly made (untrained, adapters perturbed so they
/// matter) compressor: text in, soft tokens and answers out; the base model's plain completions unchanged.
/// </summary>
public sealed class GmsaModelTests : IDisposable
{
    static readonly string ModelDir = RepoFiles.Path("models/gmsa-tiny");
    readonly TempDir folder = new();

    public GmsaModelTests() => SaveCompressor(folder.Path, adapterSeed: 5);

    /// <summary>A compressor folder whose decoder adapters are perturbed by draws of <paramref name="adapterSeed"/>.</summary>
    static void SaveCompressor(string path, ulong adapterSeed)
    {
        using var decoder = PretrainedModel.Load(ModelDir, ScalarType.BFloat16, CPU);
        var config = new CompressorConfig
        {
            BaseModel = "gmsa-tiny", EncoderLayers = 1, LoraRank = 4, LoraDropout = 0, Rates = [4, 8], SegmentLength = 64, DecoderLoraRank = 4,
        };
        using var compressor = ContextCompressor.FromBackbone(decoder, config, seed: 1);
        Lora.AddAdapters(decoder, config.DecoderLora!, seed: 2, Lora.InDecoderBlocks);
        using (no_grad())
        {
            var generator = new Generator(adapterSeed);
            foreach (var (name, p) in decoder.named_parameters().Where(p => Lora.IsAdapterKey(p.name)))
                p.add_(randn(p.shape, generator: generator).to(p.dtype) * 0.05);
        }
        CompressorFolder.Save(path, compressor, decoder);
    }

    public void Dispose() => folder.Dispose();

    const string Context = "The harbour of the old town was full of fishing boats, and the smell of tar and salt hung over the quay " +
        "where the children played among the nets until their mothers called them home for supper.";

    [Fact]
    public async Task CompressAsync_Text_GivesCeilOfTokensOverRatePerSegment()
    {
        using var gmsa = GmsaModel.Load(ModelDir, folder.Path, CPU);
        var ids = gmsa.EncodeContext(Context + " " + Context + " " + Context); // past one 64-token segment
        var soft = await gmsa.CompressAsync([ids], 8);
        int expected = Enumerable.Range(0, (ids.Count + 63) / 64).Sum(s => (Math.Min(64, ids.Count - s * 64) + 7) / 8);
        Assert.Equal([expected, 384], soft[0].Embeddings.shape);
        Assert.Equal(ids.Count, soft[0].ContextTokens);
        soft[0].Dispose();
    }

    [Fact]
    public async Task CompleteAsync_AfterLoadingACompressorWithDecoderAdapters_PlainCompletionsAreTheBaseModels()
    {
        var options = new SamplingOptions { MaxNewTokens = 12 };
        string expected;
        using (var plain = LanguageModel.Load(ModelDir, CPU))
            expected = (await plain.CompleteAsync(["It was a cold morning in"], options)).Texts[0];
        using var gmsa = GmsaModel.Load(ModelDir, folder.Path, CPU);
        var soft = await gmsa.CompressAsync([gmsa.EncodeContext(Context)], 4);
        var answer = await gmsa.GenerateAsync(soft, [gmsa.EncodePrompt(" Question: Where did the children play? Answer:")], options);
        Assert.NotEmpty(answer.Result.Sequences[0].Tokens);
        Assert.Equal(expected, (await gmsa.Language.CompleteAsync(["It was a cold morning in"], options)).Texts[0]);
        soft[0].Dispose();
    }

    [Fact]
    public async Task SoftTokenFile_SaveThenLoad_AnswersTheSameAsTheTensorItCameFrom()
    {
        using var gmsa = GmsaModel.Load(ModelDir, folder.Path, CPU);
        var soft = (await gmsa.CompressAsync([gmsa.EncodeContext(Context)], 4))[0];
        string path = Path.Combine(folder.Path, "soft.safetensors");
        SoftTokenFile.Save(path, soft, gmsa.Config.BaseModel);
        using var loaded = Assert.Single(SoftTokenFile.Load(path, gmsa.Config.BaseModel, 384, CPU));
        Assert.Equal((soft.ContextTokens, soft.Rate), (loaded.ContextTokens, loaded.Rate));
        TensorAssert.Identical(soft.Embeddings, loaded.Embeddings);
        var prompt = gmsa.EncodePrompt(" Question: What hung over the quay? Answer:");
        var options = new SamplingOptions { MaxNewTokens = 8 };
        var a = await gmsa.GenerateAsync([soft], [prompt], options);
        var b = await gmsa.GenerateAsync([loaded], [prompt], options);
        Assert.Equal(a.Result.Sequences[0].Tokens, b.Result.Sequences[0].Tokens);
        Assert.Throws<InvalidDataException>(() => SoftTokenFile.Load(path, "another-model", 384, CPU));
        soft.Dispose();
    }

    [Fact]
    public async Task GenerateAsync_SoftTokensPastTheWindow_IsRefusedWithTheSizes()
    {
        using var gmsa = GmsaModel.Load(ModelDir, folder.Path, CPU);
        var soft = await gmsa.CompressAsync([gmsa.EncodeContext(Context)], 1);
        var error = await Assert.ThrowsAsync<ArgumentException>(() =>
            gmsa.GenerateAsync(soft, [gmsa.EncodePrompt("Q")], new SamplingOptions { MaxNewTokens = 1020 }));
        Assert.Contains("exceed the model's context of 1024", error.Message);
        soft[0].Dispose();
    }

    [Fact]
    public async Task ReconstructAsync_WithARestateAdapter_RestatesWithItAndAnswersWithTheDecoderAdapter()
    {
        // Same compressor, another answer adapter; the first folder's decoder adapter kept as its restate adapter.
        using var other = new TempDir();
        SaveCompressor(other.Path, adapterSeed: 9);
        using var both = new TempDir();
        foreach (var file in Directory.EnumerateFiles(other.Path, "*", SearchOption.AllDirectories))
        {
            string target = Path.Combine(both.Path, Path.GetRelativePath(other.Path, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
        Assert.NotNull(CompressorFolder.KeepRestateAdapter(folder.Path, both.Path, answersOnly: true));

        var options = new SamplingOptions { MaxNewTokens = 12 };
        async Task<(int[] Restated, int[] Answered)> Run(string compressor, bool fold = true)
        {
            using var gmsa = GmsaModel.Load(ModelDir, compressor, CPU, ScalarType.Float32, fold);   // float32: folded and unfolded adapters agree
            var soft = await gmsa.CompressAsync([gmsa.EncodeContext(Context)], 4);
            var restated = await gmsa.ReconstructAsync(soft, options);
            var answered = await gmsa.GenerateAsync(soft, [gmsa.EncodePrompt(" Question: Where did the children play? Answer:")], options);
            soft[0].Dispose();
            return (restated.Result.Sequences[0].Tokens.ToArray(), answered.Result.Sequences[0].Tokens.ToArray());
        }
        var first = await Run(folder.Path);
        var second = await Run(other.Path);
        var combined = await Run(both.Path);
        Assert.NotEqual(first.Restated, second.Restated);   // the two adapters restate differently, so the test can tell them apart
        Assert.Equal(first.Restated, combined.Restated);
        Assert.Equal(second.Answered, combined.Answered);
        var unfolded = await Run(both.Path, fold: false);   // the restate adapter unfolded: the same tokens
        Assert.Equal(combined.Restated, unfolded.Restated);
        Assert.Equal(combined.Answered, unfolded.Answered);
        using var loaded = GmsaModel.Load(ModelDir, both.Path, CPU);
        Assert.True(loaded.HasRestateAdapter);
        Assert.Equal((Lora.DefaultAdapter, CompressorFolder.RestateAdapterName), (loaded.AnswerAdapter, loaded.RestateAdapter));
    }

    [Fact]
    public void KeepRestateAdapter_ByWhatTheSourceHolds_CopiesTheRestateOrTheDecoderAdapterOrNothing()
    {
        using var target = new TempDir();
        Assert.Null(CompressorFolder.KeepRestateAdapter(folder.Path, target.Path, answersOnly: false)); // its adapter still restates
        Assert.False(CompressorFolder.HasRestateAdapter(target.Path));
        Assert.EndsWith(CompressorFolder.DecoderAdapter, CompressorFolder.KeepRestateAdapter(folder.Path, target.Path, answersOnly: true));
        string Weights(string f, string adapter) => Path.Combine(f, adapter, "adapter_model.safetensors");
        Assert.Equal(File.ReadAllBytes(Weights(folder.Path, CompressorFolder.DecoderAdapter)), File.ReadAllBytes(Weights(target.Path, CompressorFolder.RestateAdapter)));
        // A folder with a restate adapter passes that one on, whatever the next run trains.
        using var next = new TempDir();
        Assert.EndsWith(CompressorFolder.RestateAdapter, CompressorFolder.KeepRestateAdapter(target.Path, next.Path, answersOnly: false));
    }

    [Fact]
    public void Load_RestateAdapterConfigNotJson_ThrowsInvalidDataNamingTheFile()
    {
        // a bare JsonException named no file: the service could only say "bad JSON" at start-up
        CompressorFolder.KeepRestateAdapter(folder.Path, folder.Path, answersOnly: true);
        string config = Path.Combine(folder.Path, CompressorFolder.RestateAdapter, "adapter_config.json");
        File.WriteAllText(config, """{ "r": 4, """);

        var e = Assert.Throws<InvalidDataException>(() => GmsaModel.Load(ModelDir, folder.Path, CPU));
        Assert.StartsWith($"'{config}' is not valid JSON (", e.Message);
    }
}
