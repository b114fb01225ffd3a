using Gmsa.Engine.Benchmarks;
using Gmsa.Engine.Model;
using Gmsa.Engine.Tests.Compression;

namespace Gmsa.Engine.Tests.Benchmarks;

/// <summary>`gmsa bench compress`'s code on a tiny random decoder: every row comes out; no timing is asserted.</summary>
public sealed class CompressionBenchmarkTests
{
    [Fact]
    public void Run_TinyModelOneRepeat_EveryRowFiniteAndPositive()
    {
        using var decoder = TinyCompressors.Decoder();
        using var compressor = CompressionBenchmark.FreshCompressor(decoder, TinyCompressors.Config(), seed: 7);
        var options = new CompressionBenchmarkOptions
        {
            Repeats = 1, Rate = 4, ContextTokens = 40, Question = [20, 21, 22], BosId = 1, AnswerTokens = 5,
            EncoderContexts = 3, EncoderContextTokens = 24, TrainBatch = 2, TrainContextTokens = 16,
            AutoencoderPrompt = [10, 11, 12], MatmulSize = 64,
        };

        var rows = CompressionBenchmark.Run(decoder, compressor, options);

        Assert.Equal(6, rows.Count);
        Assert.All(rows, r =>
        {
            Assert.True(double.IsFinite(r.Gmsa) && r.Gmsa > 0, $"{r.Figure}: GMSA {r.Gmsa}");
            Assert.True(double.IsFinite(r.Baseline) && r.Baseline > 0, $"{r.Figure}: baseline {r.Baseline}");
            Assert.True(double.IsFinite(r.Ratio) && r.Ratio > 0, $"{r.Figure}: ratio {r.Ratio}");
        });
        Assert.True(Lora.AdapterParameters(decoder).Any(), "the fresh compressor puts the config's decoder adapters on");
    }

    [Theory]
    [InlineData(1024, 128, 8, 128)]
    [InlineData(40, 16, 4, 10)] // segments of 16, 16 and 8 tokens: 4 + 4 + 2
    public void SoftTokenCount_SegmentsOfTheConfig_SumOfCeilings(int context, int segment, int rate, int expected)
    {
        Assert.Equal(expected, CompressionBenchmark.SoftTokenCount(context, segment, rate));
    }
}
