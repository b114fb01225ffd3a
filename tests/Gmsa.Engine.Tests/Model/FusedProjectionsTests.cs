using Gmsa.Engine.Checkpoints;
using Gmsa.Engine.Model;
using static TorchSharp.torch;

namespace Gmsa.Engine.Tests.Model;

/// <summary>q/k/v and gate/up as row blocks of one buffer: same keys and values, one matmul at inference.</summary>
public sealed class FusedProjectionsTests
{
    [Fact]
    public void Forward_UsableBuffer_EqualsEachProjectionAlone()
    {
        using var scope = NewDisposeScope();
        using var fused = new FusedProjections(8, [6, 2, 2], bias: true, ScalarType.Float32, null);
        using (no_grad())
            foreach (var p in fused.Projections) { p.Weight.normal_(); p.Bias!.normal_(); }
        var x = randn(3, 8);

        Assert.True(fused.Usable);
        var outputs = fused.Forward(x);
        for (int i = 0; i < 3; i++)
            TensorAssert.Close(nn.functional.linear(x, fused.Projections[i].Weight, fused.Projections[i].Bias), outputs[i], 1e-6, $"projection {i}");
    }

    [Fact]
    public void Load_Checkpoint_WritesThroughTheViewsSoTheBufferStaysUsable()
    {
        using var model = PretrainedModel.Load(Fixtures.Require("hf-reference/qwen2"), ScalarType.Float32);
        var layer = model.Model.DecoderLayers[0];
        Assert.True(layer.SelfAttn.Qkv.Usable);
        Assert.True(layer.FeedForward.GateUp.Usable);
        using var scope = NewDisposeScope();
        var k = model.state_dict()["model.layers.0.self_attn.k_proj.weight"];
        long q = layer.SelfAttn.QProj.OutFeatures;
        TensorAssert.Identical(k, layer.SelfAttn.Qkv.Weight.narrow(0, q, k.shape[0]), "k rows of the buffer");
    }

    [Fact]
    public void Usable_MergedAdapter_IsFalseSoEachProjectionUsesItsOwnWeight()
    {
        using var model = TinyModels.Create(TinyModels.Llama());
        Lora.AddAdapters(model, new LoraOptions(Rank: 2, Alpha: 4, Dropout: 0), seed: 1);
        model.eval();
        var attention = model.Model.DecoderLayers[0].SelfAttn;
        Assert.False(attention.Qkv.Usable);       // adapter on, not merged: three matmuls and the adapter's
        Lora.SetActive(model, false);
        Assert.True(attention.Qkv.Usable);        // base weights only
    }

    [Fact]
    public void PackFolded_TrainedAndServedAdapters_EachIsOneMatmulOverRowsThatAreTheFoldedWeights()
    {
        using var model = AdaptedModel();
        Lora.MergeForInference(model);
        Lora.MergeServedForInference(model);
        var qkv = model.Model.DecoderLayers[0].SelfAttn.Qkv;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var x = randn(3, qkv.Weight.shape[1]);
        var buffers = new List<Tensor>();
        foreach (var adapter in new[] { Lora.DefaultAdapter, "restate" })
        {
            Lora.Activate(model, adapter);
            var buffer = qkv.InferenceBuffer;
            Assert.NotNull(buffer);
            Assert.False(ReferenceEquals(buffer, qkv.Weight), adapter);
            buffers.Add(buffer);
            var outputs = qkv.Forward(x);
            for (int i = 0; i < 3; i++)
            {
                var folded = qkv.Projections[i].InferenceWeight!;
                TensorAssert.Close(nn.functional.linear(x, folded, null), outputs[i], 1e-5, $"{adapter} projection {i}");
                // The folded weight is a view of the buffer's rows, not a second copy.
                Assert.Equal(qkv.Projections.Take(i).Sum(p => p.OutFeatures) * qkv.Weight.shape[1], folded.storage_offset());
            }
        }
        Assert.True(TensorAssert.MaxDiff(buffers[0], buffers[1]) > 1e-3);     // two adapters, two buffers
        Lora.SetActive(model, false);
        Assert.Same(qkv.Weight, qkv.InferenceBuffer);
    }

    [Fact]
    public void InferenceBuffer_OneProjectionFoldedAgainAlone_ThreeMatmulsUntilPackedAgain()
    {
        using var model = AdaptedModel();
        Lora.MergeForInference(model);
        Lora.SetActive(model, true);
        var mlp = model.Model.DecoderLayers[1].FeedForward;
        Assert.True(mlp.GateUp.Usable);
        mlp.GateProj.MergeForInference();           // a weight of its own, which the buffer does not hold
        Assert.False(mlp.GateUp.Usable);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var x = randn(2, mlp.GateUp.Weight.shape[1]);
        TensorAssert.Close(mlp.GateProj.forward(x), mlp.GateUp.Forward(x)[0], 1e-6, "unpacked");
        Lora.MergeForInference(model);
        Assert.True(mlp.GateUp.Usable);
        TensorAssert.Close(mlp.GateProj.forward(x), mlp.GateUp.Forward(x)[0], 1e-5, "packed again");
    }

    /// <summary>A tiny model with perturbed trained adapters and a random served one ("restate") on every decoder projection.</summary>
    static CausalLM AdaptedModel()
    {
        var model = TinyModels.Create(TinyModels.Llama());
        Lora.AddAdapters(model, new LoraOptions(Rank: 2, Alpha: 4, Dropout: 0), seed: 1, Lora.InDecoderBlocks);
        var generator = new Generator(5);
        using (no_grad())
            foreach (var (_, p) in model.named_parameters().Where(p => Lora.IsAdapterKey(p.name)))
                p.add_(randn(p.shape, generator: generator) * 0.2);
        var served = model.state_dict().Where(kv => Lora.IsAdapterKey(kv.Key))
            .ToDictionary(kv => kv.Key, kv => randn(kv.Value.shape, generator: generator) * 0.3);
        Lora.AddServedAdapters(model, "restate", served, scale: 0.5);
        model.eval();
        return model;
    }
}
