using Gmsa.Engine.Compression;
using Gmsa.Engine.Serving;
using static TorchSharp.torch;

namespace Gmsa.Engine.Tests.Serving;

/// <summary>Contexts arriving together go through gmsa-tiny's shipped compressor in one encoder call.</summary>
public sealed class CompressionBatcherTests
{
    static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);
    static CancellationToken Token => TestContext.Current.CancellationToken;

    static readonly string[] Contexts =
    [
        "The capital of Chad is N'Djamena. The currency of Chad is the Central African CFA franc.",
        "It was a cold morning in the village, and the ship sailed before the sun was up.",
        "And God said unto Moses, I AM THAT I AM.",
        string.Join(" ", Enumerable.Repeat("Elizabeth looked at her sister and smiled.", 20)),
    ];

    [Fact]
    public async Task TryEnqueue_ContextsArrivingTogether_OneBatchEqualToEachAlone()
    {
        using var gmsa = GmsaModel.Load(RepoFiles.Path("models/gmsa-tiny"));
        var sizes = new List<int>();
        await using var batcher = new CompressionBatcher(gmsa, new CompressionBatcherOptions { MaxWait = TimeSpan.FromSeconds(5), MaxBatchContexts = Contexts.Length });
        batcher.BatchCompressed += (size, _) => sizes.Add(size);
        var ids = Contexts.Select(gmsa.EncodeContext).ToArray();
        var pending = ids.Select((c, i) => batcher.TryEnqueue(c, 4 + 4 * (i % 2), Token, out var r) ? r : throw new InvalidOperationException("refused")).ToArray();
        var batched = await Task.WhenAll(pending).WaitAsync(Bound, Token);

        Assert.Equal([Contexts.Length], sizes);
        for (int i = 0; i < ids.Length; i++)
        {
            var alone = (await gmsa.CompressToDataAsync([ids[i]], [4 + 4 * (i % 2)], Token))[0];
            Assert.Equal((alone.Count, alone.Dimension, alone.Rate, alone.ContextTokens), (batched[i].Count, batched[i].Dimension, batched[i].Rate, batched[i].ContextTokens));
            // bf16 and padding order: within two bf16 rounding steps of the tensor's largest value (2^-6 of it).
            float[] a = alone.ToFloat32(), b = batched[i].ToFloat32();
            float diff = a.Zip(b, (x, y) => Math.Abs(x - y)).Max(), scale = a.Max(Math.Abs);
            Assert.True(diff <= scale / 64, $"context {i}: batched soft tokens differ from alone by {diff} (largest value {scale})");
        }
        Assert.Equal(0, batcher.Queued);
    }

    [Fact]
    public void SoftTokenData_Bf16Tensor_RoundTripsExactly()
    {
        using var scope = NewDisposeScope();
        var soft = randn(5, 8).to(ScalarType.BFloat16);
        var data = SoftTokenData.From(soft, contextTokens: 19, rate: 4);

        Assert.Equal(("bfloat16", 5, 8, 5 * 8 * 2), (data.Dtype, data.Count, data.Dimension, data.Raw.Length));
        TensorAssert.Identical(soft, data.ToTensor());
        Assert.Equal(soft.to(ScalarType.Float32).data<float>().ToArray(), data.ToFloat32());
        var both = SoftTokenData.Concatenate([data, data]);
        Assert.Equal((10, 38), (both.Count, both.ContextTokens));
    }
}
