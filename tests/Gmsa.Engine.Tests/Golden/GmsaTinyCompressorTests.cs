using Gmsa.Engine.Checkpoints;
using Gmsa.Engine.Compression;
using Gmsa.Engine.Evaluation;
using static TorchSharp.torch;

namespace Gmsa.Engine.Tests.Golden;

/// <summary>
/// The shipped compressor, models/gmsa-tiny/compressor, as committed: the stage-1 recipe's shape, bf16 weights
/// under 20 MB with an answer and a restate adapter, loadable on gmsa-tiny, with its held-out evaluation sets beside it.
/// </summary>
public sealed class GmsaTinyCompressorTests
{
    static readonly string ModelDir = RepoFiles.Path("models/gmsa-tiny");
    static readonly string CompressorDir = Path.Combine(ModelDir, GmsaModel.DefaultCompressorFolder);

    [Fact]
    public void Folder_AsCommitted_IsTheRecipesCompressorInBf16UnderTwentyMegabytes()
    {
        var config = CompressorConfig.Load(Path.Combine(CompressorDir, CompressorConfig.FileName));
        var recipe = CompressorRecipe.Load(RepoFiles.Path("recipes/gmsa-tiny-ae.json")).Compressor;
        Assert.Equal((recipe with { BaseModel = "gmsa-tiny" }).ToJson(), config.ToJson());
        var files = Directory.GetFiles(CompressorDir, "*.safetensors", SearchOption.AllDirectories);
        Assert.Equal(4, files.Length); // encoder adapter, alignment, decoder (answer) adapter, restate adapter
        Assert.True(CompressorFolder.HasRestateAdapter(CompressorDir));
        Assert.All(files, f => Assert.All(SafeTensors.ReadHeader(f).Values, h => Assert.Equal("BF16", h.Dtype)));
        Assert.True(files.Sum(f => new FileInfo(f).Length) < 20_000_000);
        foreach (var set in new[] { "reconstruction.jsonl", "qa.jsonl", "passkey.jsonl" })
            Assert.True(File.Exists(Path.Combine(CompressorDir, "eval", set)), $"compressor/eval/{set} is missing");
    }

    [Fact]
    public async Task Load_OnGmsaTiny_CompressesAHeldOutContextAtEveryTrainedRate()
    {
        using var gmsa = GmsaModel.Load(ModelDir);
        var text = ReconstructionSet.Read(Path.Combine(CompressorDir, "eval", "reconstruction.jsonl"))[0];
        var ids = gmsa.EncodeContext(text);
        foreach (var rate in gmsa.Config.Rates)
        {
            var soft = await gmsa.CompressAsync([ids], rate, TestContext.Current.CancellationToken);
            int segment = gmsa.Config.SegmentLength;
            int expected = Enumerable.Range(0, (ids.Count + segment - 1) / segment).Sum(s => (Math.Min(segment, ids.Count - s * segment) + rate - 1) / rate);
            Assert.Equal([expected, 384], soft[0].Embeddings.shape);
            Assert.Equal(ScalarType.BFloat16, soft[0].Embeddings.dtype);
            soft[0].Dispose();
        }
    }
}
