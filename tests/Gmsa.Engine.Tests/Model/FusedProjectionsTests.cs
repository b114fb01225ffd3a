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
}
