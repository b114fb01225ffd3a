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

    [Fact]
    public void AddServedAdapter_SwitchedBetweenUnfoldedThenFolded_EachAddsItsOwnScaledUpdateAndOffIsTheBase()
    {
        var weight = new Parameter(tensor(new float[] { 1, 0, 0, 1 }, [2, 2]));
        using var linear = new LoraLinear(weight, null);
        linear.AddAdapter(new LoraOptions(Rank: 1, Alpha: 2, Dropout: 0)); // trained adapter, scale 2, B zero
        // Served adapter: A = [1, 1], B = [1, -1]^T, scale 0.5.
        linear.AddServedAdapter("restate", tensor(new float[] { 1, 1 }, [1, 2]), tensor(new float[] { 1, -1 }, [2, 1]), 0.5);
        linear.eval();
        using var noGrad = no_grad();
        var x = tensor(new float[] { 3, 4 }, [1, 2]);
        float[] Run(string? adapter)
        {
            linear.AdapterActive = adapter is not null;
            linear.ActiveAdapter = adapter ?? Lora.DefaultAdapter;
            return linear.forward(x).data<float>().ToArray();
        }
        // x W^T = [3, 4]; A x = 7; B (A x) = [7, -7]; scaled by 0.5: [3.5, -3.5].
        Assert.Equal([6.5f, 0.5f], Run("restate"));
        Assert.Equal([3f, 4f], Run(Lora.DefaultAdapter)); // the trained adapter's B is still zero
        Assert.Equal([3f, 4f], Run(null));
        linear.ActiveAdapter = "restate";
        linear.AdapterActive = true;
        Assert.Null(linear.InferenceWeight); // no single weight stands for it: fused and fast decode paths step aside

        linear.MergeServedForInference();    // W + 0.5 B A = [[1.5, 0.5], [-0.5, 0.5]]
        Assert.Equal([1.5f, 0.5f, -0.5f, 0.5f], linear.InferenceWeight!.data<float>().ToArray());
        Assert.Equal([6.5f, 0.5f], Run("restate"));
        Assert.Equal([3f, 4f], Run(null));
    }

    [Fact]
    public void AddServedAdapter_MisfitRepeatedOrTrainedName_IsRefusedAndAnUnknownOneFailsTheForward()
    {
        using var linear = new LoraLinear(new Parameter(zeros(3, 2)), null);
        var misfit = Assert.Throws<ArgumentException>(() => linear.AddServedAdapter("restate", zeros(1, 4), zeros(3, 1), 1));
        Assert.Contains("2 -> 3", misfit.Message);
        Assert.Throws<ArgumentException>(() => linear.AddServedAdapter(Lora.DefaultAdapter, zeros(1, 2), zeros(3, 1), 1));
        linear.AddServedAdapter("restate", zeros(1, 2), zeros(3, 1), 1);
        Assert.Throws<InvalidOperationException>(() => linear.AddServedAdapter("restate", zeros(1, 2), zeros(3, 1), 1));
        linear.ActiveAdapter = "another";
        Assert.Contains("'another'", Assert.Throws<InvalidOperationException>(() => linear.forward(ones(1, 2))).Message);
    }

    [Fact]
    public void AddServedAdapters_TheTrainedAdaptersWeights_SameLogitsAsTheTrainedAdapter()
    {
        using var model = TinyModels.Create(TinyModels.Llama());
        var ids = TinyModels.Ids([1, 5, 17, 42, 8]);
        var options = new LoraOptions(Rank: 4, Alpha: 8, Dropout: 0);
        Lora.AddAdapters(model, options, seed: 3, Lora.InDecoderBlocks);
        using (no_grad())
        {
            var generator = new Generator(9);
            foreach (var (name, p) in model.named_parameters().Where(p => Lora.IsAdapterKey(p.name)))
                p.add_(randn(p.shape, generator: generator) * 0.2);
        }
        var adapter = Lora.AdapterParameters(model).ToDictionary(p => p.Name, p => (Tensor)p.Parameter.detach().clone());
        Assert.Equal(14, Lora.AddServedAdapters(model, "copy", adapter, options.Scale)); // 2 layers x 7 projections
        model.eval();
        using var noGrad = no_grad();
        var trained = model.forward(ids).Logits;
        Lora.Activate(model, "copy");
        var served = model.forward(ids).Logits;
        Lora.Activate(model, null);
        var baseLogits = model.forward(ids).Logits;
        Assert.True(TensorAssert.MaxDiff(trained, baseLogits) > 1e-2);
        TensorAssert.Close(trained, served, 1e-5, "served");

        var half = adapter.Where(kv => !kv.Key.StartsWith("model.layers.1.mlp.down_proj.lora_B")).ToDictionary();
        Assert.Contains("only one half", Assert.Throws<InvalidDataException>(() => Lora.AddServedAdapters(model, "half", half, 1)).Message);
        var stray = new Dictionary<string, Tensor>(adapter) { ["model.layers.9.mlp.up_proj.lora_A.weight"] = zeros(4, 4) };
        Assert.Contains("model.layers.9", Assert.Throws<InvalidDataException>(() => Lora.AddServedAdapters(model, "stray", stray, 1)).Message);
    }

    [Fact]
    public void Use_NamedAdapter_OnInsideTheScopeAndOffAfterItEvenWhenItThrows()
    {
        using var model = TinyModels.Create(TinyModels.Llama());
        var ids = TinyModels.Ids([1, 5, 17, 42, 8]);
        Lora.AddAdapters(model, new LoraOptions(Rank: 4, Alpha: 8, Dropout: 0), seed: 3, Lora.InDecoderBlocks);
        using (no_grad())
            foreach (var (_, p) in Lora.AdapterParameters(model)) p.add_(0.2);
        model.eval();
        using var noGrad = no_grad();
        Lora.SetActive(model, false);
        var baseLogits = model.forward(ids).Logits;
        Lora.SetActive(model, true);
        var adapted = model.forward(ids).Logits;
        Lora.SetActive(model, false);
        Assert.True(TensorAssert.MaxDiff(adapted, baseLogits) > 1e-2);

        using (Lora.Use(model, Lora.DefaultAdapter))
            TensorAssert.Identical(adapted, model.forward(ids).Logits);
        TensorAssert.Identical(baseLogits, model.forward(ids).Logits);

        void FailingBody()
        {
            using var active = Lora.Use(model, Lora.DefaultAdapter);
            throw new InvalidOperationException("the body failed");
        }
        Assert.Throws<InvalidOperationException>(FailingBody);
        TensorAssert.Identical(baseLogits, model.forward(ids).Logits);
    }
}
