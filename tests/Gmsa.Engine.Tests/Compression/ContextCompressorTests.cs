using Gmsa.Engine.Checkpoints;
using Gmsa.Engine.Compression;
using Gmsa.Engine.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace Gmsa.Engine.Tests.Compression;

public sealed class ContextCompressorTests
{
    static Tensor CompressOne(ContextCompressor compressor, int[] context, int rate)
    {
        var soft = SegmentedCompression.Compress(compressor, [context], [rate]);
        return soft[0];
    }

    [Fact]
    public void FromBackbone_Lsa_StartsAsTheDecodersFirstBlocksAndFinalNorm()
    {
        var (decoder, compressor) = TinyCompressors.Create();
        using var _ = decoder; using var __ = compressor;
        var source = decoder.state_dict();
        var weights = compressor.state_dict();
        var lsa = weights.Where(kv => kv.Key.StartsWith("memory_fusion_layer.")).ToList();
        Assert.Equal(10, lsa.Count); // 9 tensors of one block + the norm
        foreach (var (key, value) in lsa)
            TensorAssert.Identical(source["model." + key["memory_fusion_layer.".Length..]], value, key);
        foreach (var (key, value) in weights.Where(kv => kv.Key.StartsWith("encoder.") && !Lora.IsAdapterKey(kv.Key)))
            TensorAssert.Identical(source["model." + key["encoder.".Length..]], value, key);
        Assert.DoesNotContain(weights.Keys, k => k.StartsWith("encoder.layers.1."));
    }

    [Fact]
    public void FromBackbone_FrozenParts_DoNotRequireGradients()
    {
        var (decoder, compressor) = TinyCompressors.Create();
        using var _ = decoder; using var __ = compressor;
        var trainable = compressor.named_parameters().Where(p => p.parameter.requires_grad).Select(p => p.name).ToList();
        Assert.All(trainable, name => Assert.True(Lora.IsAdapterKey(name) || name.StartsWith("memory_fusion_layer.layers."), name));
        Assert.Equal(14 + 9, trainable.Count); // 7 adapted projections x (A, B) in the encoder's one block, 9 LSA tensors
        Assert.Equal(compressor.TrainableParameters().Select(p => p.Name), trainable);
    }

    [Theory]
    [InlineData(1, 4, 1)]
    [InlineData(5, 4, 2)]
    [InlineData(16, 4, 4)]
    [InlineData(17, 4, 5)]  // segments of 16 + 1
    [InlineData(40, 4, 10)] // 16 + 16 + 8
    [InlineData(40, 2, 20)]
    public void Compress_ContextOfAnyLength_GivesCeilOfEachSegmentOverRate(int length, int rate, int expected)
    {
        var (decoder, compressor) = TinyCompressors.Create();
        using var _ = decoder; using var __ = compressor;
        using var soft = CompressOne(compressor, TinyCompressors.Context(length, seed: length), rate);
        Assert.Equal([expected, 32], soft.shape);
    }

    [Fact]
    public void Compress_BatchOfContexts_EqualsEachContextAlone()
    {
        var (decoder, compressor) = TinyCompressors.Create();
        using var _ = decoder; using var __ = compressor;
        int[][] contexts = [TinyCompressors.Context(40, 1), TinyCompressors.Context(7, 2), TinyCompressors.Context(16, 3), TinyCompressors.Context(23, 4)];
        int[] rates = [4, 2, 4, 1];
        var batched = SegmentedCompression.Compress(compressor, contexts, rates, maxBatchTokens: 40);
        for (int i = 0; i < contexts.Length; i++)
        {
            using var alone = CompressOne(compressor, contexts[i], rates[i]);
            TensorAssert.Close(alone, batched[i], 1e-5, $"context {i}");
        }
    }

    [Fact]
    public void Compress_EncoderAdaptersMergedForServing_SameSoftTokensAsTheUnmergedAdapters()
    {
        var (decoder, compressor) = TinyCompressors.Create();
        using var _ = decoder; using var __ = compressor;
        compressor.eval();
        using (no_grad())
        {
            var generator = new Generator(11);
            foreach (var (name, p) in compressor.named_parameters().Where(p => Lora.IsAdapterKey(p.name)))
                p.add_(randn(p.shape, generator: generator) * 0.2);
        }
        int[][] contexts = [TinyCompressors.Context(40, 1), TinyCompressors.Context(9, 2)];
        int[] rates = [4, 2];
        var unmerged = SegmentedCompression.Compress(compressor, contexts, rates);
        Lora.SetActive(compressor, false);
        var withoutAdapters = SegmentedCompression.Compress(compressor, contexts, rates);
        Lora.SetActive(compressor, true);
        Lora.MergeForInference(compressor);
        var merged = SegmentedCompression.Compress(compressor, contexts, rates);
        for (int i = 0; i < contexts.Length; i++)
        {
            Assert.True(TensorAssert.MaxDiff(unmerged[i], withoutAdapters[i]) > 1e-2, $"context {i}: the adapters matter");
            TensorAssert.Close(unmerged[i], merged[i], 1e-4, $"context {i}");
        }
    }

    [Fact]
    public void Compress_LongContext_IsItsSegmentsCompressedApartAndJoined()
    {
        var (decoder, compressor) = TinyCompressors.Create();
        using var _ = decoder; using var __ = compressor;
        var context = TinyCompressors.Context(37, 5);
        using var whole = CompressOne(compressor, context, 4);
        using var first = CompressOne(compressor, context[..16], 4);
        using var second = CompressOne(compressor, context[16..32], 4);
        using var third = CompressOne(compressor, context[32..], 4);
        TensorAssert.Close(cat([first, second, third], 0), whole, 1e-5);
    }

    [Theory]
    [InlineData(CompressionMethod.MemoryTokens, AlignmentKind.None)]
    [InlineData(CompressionMethod.GroupMerge, AlignmentKind.Linear)]
    [InlineData(CompressionMethod.GroupMerge, AlignmentKind.LsaRandom)]
    public void Compress_BaselinesAndAblations_GiveTheSameNumberOfSoftTokens(CompressionMethod method, AlignmentKind alignment)
    {
        var (decoder, compressor) = TinyCompressors.Create(TinyCompressors.Config(method, alignment));
        using var _ = decoder; using var __ = compressor;
        var soft = SegmentedCompression.Compress(compressor, [TinyCompressors.Context(13, 1), TinyCompressors.Context(30, 2)], [4, 2]);
        Assert.Equal([4, 32], soft[0].shape);
        Assert.Equal([15, 32], soft[1].shape);
        Assert.True(soft.All(s => s.isfinite().all().item<bool>()));
    }

    [Fact]
    public void Compress_MemoryTokensAtARateBelowTheTrainedOnes_RefusedWithTheReason()
    {
        var (decoder, compressor) = TinyCompressors.Create(TinyCompressors.Config(CompressionMethod.MemoryTokens, AlignmentKind.None));
        using var _ = decoder; using var __ = compressor;
        // Rates [2, 4] and 16-token segments: 8 memory tokens; rate 1 over a full segment would need 16.
        var error = Assert.Throws<ArgumentException>(() => SegmentedCompression.Compress(compressor, [TinyCompressors.Context(16, 1)], [1]));
        Assert.Contains("8 memory tokens", error.Message);
    }

    [Fact]
    public void Compress_MethodNone_IsTheContextsOwnTokenEmbeddingsInFull()
    {
        var config = TinyCompressors.Config(CompressionMethod.None, AlignmentKind.None) with { Rates = [1] };
        var (decoder, compressor) = TinyCompressors.Create(config);
        using var _ = decoder; using var __ = compressor;
        using var scope = NewDisposeScope();
        int[] shortOne = TinyCompressors.Context(13, 1), longOne = TinyCompressors.Context(30, 2);   // 30 > segment 16: two segments

        var soft = SegmentedCompression.Compress(compressor, [shortOne, longOne], [1, 1]);

        TensorAssert.Identical(decoder.Embed(tensor(shortOne.Select(t => (long)t).ToArray())), soft[0]);
        TensorAssert.Identical(decoder.Embed(tensor(longOne.Select(t => (long)t).ToArray())), soft[1]);
    }

    [Theory]
    [InlineData(AlignmentKind.Lsa, 1)]
    [InlineData(AlignmentKind.None, 4)]
    public void Validate_MethodNoneWithAlignmentOrARate_Refused(AlignmentKind alignment, int rate)
    {
        var config = TinyCompressors.Config(CompressionMethod.None, alignment) with { Rates = [rate] };
        var error = Assert.Throws<ArgumentException>(() => config.Validate(TinyModels.Llama()));
        Assert.Contains("full-context reference", error.Message);
    }

    [Fact]
    public void Folder_SaveThenLoad_GivesTheSameSoftTokensInPeftLayout()
    {
        using var dir = new TempDir();
        var (decoder, compressor) = TinyCompressors.Create();
        using var _ = decoder; using var __ = compressor;
        Lora.AddAdapters(decoder, compressor.Config.DecoderLora!, seed: 2, Lora.InDecoderBlocks);
        using (no_grad())
        {
            var generator = new Generator(3);
            foreach (var (name, p) in compressor.named_parameters().Concat(decoder.named_parameters()).Where(p => p.parameter.requires_grad && Lora.IsAdapterKey(p.name)))
                p.add_(randn(p.shape, generator: generator) * 0.1); // adapters that do something
        }
        var context = TinyCompressors.Context(21, 9);
        using var expected = CompressOne(compressor, context, 4);
        var ids = TinyModels.Ids([5, 6, 7]);
        using var expectedLogits = decoder.forward(ids).Logits;
        CompressorFolder.Save(dir.Path, compressor, decoder);

        var encoderKeys = SafeTensors.ReadHeader(Path.Combine(dir.Path, "encoder_adapter", "adapter_model.safetensors")).Keys.ToList();
        Assert.Contains("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", encoderKeys);
        Assert.Contains("base_model.model.model.layers.0.mlp.down_proj.lora_B.weight", encoderKeys);
        Assert.Equal(14, encoderKeys.Count);
        var alignmentKeys = SafeTensors.ReadHeader(Path.Combine(dir.Path, "alignment.safetensors")).Keys.ToList();
        Assert.Contains("model.layers.0.self_attn.q_proj.weight", alignmentKeys);
        Assert.Contains("model.norm.weight", alignmentKeys);
        Assert.Contains("base_model.model.model.layers.1.mlp.up_proj.lora_B.weight",
            SafeTensors.ReadHeader(Path.Combine(dir.Path, "decoder_adapter", "adapter_model.safetensors")).Keys);

        using var freshDecoder = TinyCompressors.Decoder();
        using var loaded = CompressorFolder.Load(dir.Path, freshDecoder);
        using var actual = CompressOne(loaded, context, 4);
        // The weights round-trip exactly; kernels picked for other buffers may round the last bit differently.
        TensorAssert.Close(expected, actual, 1e-5);
        using var noGrad = no_grad();
        TensorAssert.Close(expectedLogits, freshDecoder.forward(ids).Logits, 1e-5);
    }

    [Fact]
    public void Folder_LoadOnAnotherBackbone_FailsNamingTheMismatchedWeights()
    {
        using var dir = new TempDir();
        var (decoder, compressor) = TinyCompressors.Create();
        using var _ = decoder; using var __ = compressor;
        CompressorFolder.Save(dir.Path, compressor, decoder);
        using var other = new CausalLM(TinyModels.Llama() with { IntermediateSize = 48 });
        var error = Assert.Throws<CheckpointMismatchException>(() => CompressorFolder.Load(dir.Path, other));
        Assert.Contains("mlp.gate_proj", error.Message);
    }

    [Fact]
    public void FromBackbone_MoreEncoderLayersThanTheBackbone_IsRefused()
    {
        using var decoder = TinyCompressors.Decoder();
        var error = Assert.Throws<ArgumentException>(() => ContextCompressor.FromBackbone(decoder, TinyCompressors.Config() with { EncoderLayers = 3 }, 1));
        Assert.Contains("encoder_layers", error.Message);
    }

    [Fact]
    public void Compress_HundredCalls_LiveTensorCountStaysFlat()
    {
        var (decoder, compressor) = TinyCompressors.Create();
        using var _ = decoder; using var __ = compressor;
        void Work(int i)
        {
            foreach (var soft in SegmentedCompression.Compress(compressor, [TinyCompressors.Context(5 + i % 30, i), TinyCompressors.Context(20, i)], [2, 4]))
                soft.Dispose();
        }
        Work(0);
        long start = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (int i = 0; i < 100; i++) Work(i);
        Assert.Equal(start, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }
}
