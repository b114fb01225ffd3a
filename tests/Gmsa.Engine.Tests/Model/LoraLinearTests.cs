using Gmsa.Engine.Model;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Gmsa.Engine.Tests.Model;

[Collection(GlobalRandomState.Name)]
public sealed class LoraLinearTests
{
    [Fact]
    public void AddAdapters_FreshAdapters_LeaveTheOutputUnchangedAndKeepCheckpointKeys()
    {
        using var model = TinyModels.Create(TinyModels.Llama());
        var keysBefore = model.state_dict().Keys.ToHashSet();
        var ids = TinyModels.Ids([1, 5, 17, 42, 8]);
        using var noGrad = no_grad();
        var before = model.forward(ids).Logits;
        int wrapped = Lora.AddAdapters(model, new LoraOptions(Rank: 4, Alpha: 8, Dropout: 0), seed: 3, Lora.InDecoderBlocks);
        Assert.Equal(2 * 7, wrapped); // 2 layers x q, k, v, o, gate, up, down
        TensorAssert.Identical(before, model.forward(ids).Logits);
        var keysAfter = model.state_dict().Keys.ToHashSet();
        Assert.Subset(keysAfter, keysBefore);
        Assert.Contains("model.layers.0.self_attn.q_proj.lora_A.weight", keysAfter);
        Assert.Contains("model.layers.1.mlp.down_proj.lora_B.weight", keysAfter);
        Assert.Equal(28, keysAfter.Count(Lora.IsAdapterKey)); // A and B for each of the 14 projections
    }

    [Fact]
    public void Forward_WithAdapter_AddsScaledLowRankUpdate()
    {
        var weight = new Parameter(tensor(new float[] { 1, 0, 0, 1 }, [2, 2]));
        using var linear = new LoraLinear(weight, null);
        linear.AddAdapter(new LoraOptions(Rank: 1, Alpha: 2, Dropout: 0)); // scale 2
        using (no_grad())
        {
            foreach (var (name, p) in linear.named_parameters())
                if (name == "lora_A.weight") p.copy_(tensor(new float[] { 1, 1 }, [1, 2]));
                else if (name == "lora_B.weight") p.copy_(tensor(new float[] { 1, -1 }, [2, 1]));
        }
        linear.eval();
        using var noGrad = no_grad();
        var y = linear.forward(tensor(new float[] { 3, 4 }, [1, 2]));
        // x W^T = [3, 4]; A x = 7; B (A x) = [7, -7]; scaled by 2: [14, -14].
        Assert.Equal([17f, -10f], y.data<float>().ToArray());
    }

    [Fact]
    public void AddAdapters_SameSeed_SameAdaptersAndUnchangedGlobalRandomStream()
    {
        using var a = TinyModels.Create(TinyModels.Llama());
        using var b = TinyModels.Create(TinyModels.Llama());
        manual_seed(11);
        float expectedDraw = rand(1).item<float>();
        manual_seed(11);
        Lora.AddAdapters(a, new LoraOptions(4, 8, 0), seed: 3);
        Lora.AddAdapters(b, new LoraOptions(4, 8, 0), seed: 3);
        Assert.Equal(expectedDraw, rand(1).item<float>());
        var bWeights = b.state_dict();
        foreach (var (name, p) in a.state_dict().Where(kv => Lora.IsAdapterKey(kv.Key)))
            TensorAssert.Identical(p, bWeights[name], name);
    }

    [Fact]
    public void MergeForInference_PerturbedAdapters_SameLogitsAsTheUnmergedPathAndTheBaseWhenOff()
    {
        using var model = TinyModels.Create(TinyModels.Llama());
        var ids = TinyModels.Ids([1, 5, 17, 42, 8]);
        Lora.AddAdapters(model, new LoraOptions(Rank: 4, Alpha: 8, Dropout: 0), seed: 3, Lora.InDecoderBlocks);
        using (no_grad())
        {
            var generator = new Generator(9);
            foreach (var (name, p) in model.named_parameters().Where(p => Lora.IsAdapterKey(p.name)))
                p.add_(randn(p.shape, generator: generator) * 0.2);
        }
        using var noGrad = no_grad();
        var unmerged = model.forward(ids).Logits;
        Lora.SetActive(model, false);
        var baseLogits = model.forward(ids).Logits;
        Lora.SetActive(model, true);
        Lora.MergeForInference(model);
        var merged = model.forward(ids).Logits;
        Assert.True(TensorAssert.MaxDiff(unmerged, baseLogits) > 1e-2); // the adapters matter
        TensorAssert.Close(unmerged, merged, 1e-4, "merged");
        Lora.SetActive(model, false);
        TensorAssert.Identical(baseLogits, model.forward(ids).Logits);
    }
}
