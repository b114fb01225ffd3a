using Gmsa.Engine.Compression;
using Gmsa.Engine.Model;
using static TorchSharp.torch;

namespace Gmsa.Engine.Tests.Compression;

/// <summary>A tiny random decoder with a compressor of the matching shape, seeded, for the compression tests.</summary>
internal static class TinyCompressors
{
    public static CompressorConfig Config(CompressionMethod method = CompressionMethod.GroupMerge, AlignmentKind alignment = AlignmentKind.Lsa) => new()
    {
        BaseModel = "tiny",
        Method = method,
        Alignment = alignment,
        EncoderLayers = 1,
        AlignmentLayers = 1,
        LoraRank = 4,
        LoraAlpha = 8,
        LoraDropout = 0,
        Rates = [2, 4],
        SegmentLength = 16,
        DecoderLoraRank = 4,
        DecoderLoraAlpha = 8,
    };

    /// <param name="std">weight scale; the tied, frozen head bounds how sharp logits can get (at 0.2 the best loss is ~0.25)</param>
    public static CausalLM Decoder(ScalarType dtype = ScalarType.Float32, long seed = 1234, double std = 0.2)
    {
        var decoder = new CausalLM(TinyModels.Llama() with { MaxPositionEmbeddings = 96 }, dtype);
        decoder.InitializeWeights(seed, std);
        return decoder;
    }

    public static (CausalLM Decoder, ContextCompressor Compressor) Create(CompressorConfig? config = null, ScalarType dtype = ScalarType.Float32, double std = 0.2)
    {
        var decoder = Decoder(dtype, std: std);
        return (decoder, ContextCompressor.FromBackbone(decoder, config ?? Config(), seed: 7));
    }

    /// <summary>Contexts of tokens 3..96 drawn from a seeded generator.</summary>
    public static int[] Context(int length, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, length).Select(_ => rng.Next(3, 97)).ToArray();
    }
}
