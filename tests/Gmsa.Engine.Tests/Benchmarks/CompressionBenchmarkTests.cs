using Gmsa.Engine.Benchmarks;
using Gmsa.Engine.Model;
using Gmsa.Engine.Tests.Compression;

namespace Gmsa.Engine.Tests.Benchmarks;

/// <summary>`gmsa bench compress`'s code on a tiny random decoder: every row comes out; no timing is asserted.</summary>
public sealed class CompressionBenchmarkTests
{
    static readonly CompressionBenchmarkOptions Options = new()
    {
        Repeats = 1, Rate = 4, ContextTokens = 40, Question = [20, 21, 22], BosId = 1, AnswerTokens = 5,
        EncoderContexts = 3, EncoderContextTokens = 24, TrainBatch = 2, TrainContextTokens = 16,
        AutoencoderPrompt = [10, 11, 12], MatmulSize = 64,
    };

    [Fact]
    public void Run_TinyModelOneRepeat_EveryRowFiniteAndPositive()
    {
        using var decoder = TinyCompressors.Decoder();
        using var compressor = CompressionBenchmark.FreshCompressor(decoder, TinyCompressors.Config(), seed: 7);

        var rows = CompressionBenchmark.Run(decoder, compressor, Options);

        Assert.Equal(7, rows.Count);
        AssertFinite(rows);
        Assert.True(Lora.AdapterParameters(decoder).Any(), "the fresh compressor puts the config's decoder adapters on");
    }

    [Fact]
    public void Run_DecoderWithARestateAdapter_AddsTheRestatingRow()
    {
        using var decoder = TinyCompressors.Decoder();
        using var compressor = CompressionBenchmark.FreshCompressor(decoder, TinyCompressors.Config(), seed: 7);
        var restate = Lora.AdapterParameters(decoder).ToDictionary(p => p.Name, p => (TorchSharp.torch.Tensor)p.Parameter.detach());
        Lora.AddServedAdapters(decoder, Gmsa.Engine.Compression.CompressorFolder.RestateAdapterName, restate, scale: 1);

        var rows = CompressionBenchmark.Run(decoder, compressor, Options);

        Assert.Equal(8, rows.Count);
        Assert.Contains(rows, r => r.Figure.Contains("restate adapter folded vs unfolded"));
        AssertFinite(rows);
    }

    static void AssertFinite(IReadOnlyList<CompressionRow> rows) =>
        Assert.All(rows, r =>
        {
            Assert.True(double.IsFinite(r.Gmsa) && r.Gmsa > 0, $"{r.Figure}: GMSA {r.Gmsa}");
            Assert.True(double.IsFinite(r.Baseline) && r.Baseline > 0, $"{r.Figure}: baseline {r.Baseline}");
            Assert.True(double.IsFinite(r.Ratio) && r.Ratio > 0, $"{r.Figure}: ratio {r.Ratio}");
        });

    [Fact]
    public void FirstTokenFlops_TinyModelThreeSegments_HandCountedSums()
    {
        // Tiny LLaMA: D 32, 4 heads and 2 KV heads of 8, I 64, V 97; per block and token the projections are
        // 2 x (32 x 8 x (4 + 4 + 2 + 2) + 3 x 32 x 64) = 18,432 FLOPs, causal attention over S tokens 2 x S^2 x 32 = 64 S^2,
        // the head 2 x 32 x 97 = 6,208 a token. 40 tokens in segments of 16, 16, 8 at rate 4 give 4 + 4 + 2 = 10 soft.
        using var decoder = TinyCompressors.Decoder();
        using var compressor = CompressionBenchmark.FreshCompressor(decoder, TinyCompressors.Config(), seed: 7);

        var (newContext, followUp, full) = CompressionBenchmark.FirstTokenFlops(decoder.Config, compressor, Options, fullTokens: 44);

        double encoder = 18_432 * 40 + 64 * (16 * 16 * 2 + 8 * 8);         // 1 block over 40 tokens, attention within segments
        double lsa = 18_432 * 10 + 64 * (4 * 4 * 2 + 2 * 2);               // 1 block over each segment's merged vectors
        double decode = 2 * (18_432 * 13 + 64 * 13 * 13) + 6_208;          // 2 blocks over [10 soft ; 3 question], head at the last
        Assert.Equal(decode, followUp);
        Assert.Equal(encoder + lsa + decode, newContext);
        Assert.Equal(2 * (18_432 * 44 + 64 * 44 * 44) + 6_208, full);      // [BOS ; 40 context ; 3 question]
    }

    [Theory]
    [InlineData(1024, 128, 8, 128)]
    [InlineData(40, 16, 4, 10)] // segments of 16, 16 and 8 tokens: 4 + 4 + 2
    public void SoftTokenCount_SegmentsOfTheConfig_SumOfCeilings(int context, int segment, int rate, int expected)
    {
        Assert.Equal(expected, Gmsa.Engine.Compression.SegmentedCompression.SoftTokenCount(context, segment, rate));
    }
}
