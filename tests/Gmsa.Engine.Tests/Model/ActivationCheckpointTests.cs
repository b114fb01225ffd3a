using Gmsa.Engine.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace Gmsa.Engine.Tests.Model;

/// <summary>Recomputing blocks in backward must give the gradients of the plain forward, dropout included.</summary>
[Collection(GlobalRandomState.Name)]
public sealed class ActivationCheckpointTests
{
    /// <summary>Loss and every trainable gradient of one forward + backward, from the same dropout state.</summary>
    static (float Loss, Dictionary<string, Tensor> Grads) Step(CausalLM model, Tensor embeds, Tensor targets, byte[] rng)
    {
        DropoutRandom.Rewind(CPU, rng);
        foreach (var p in model.parameters()) p.grad?.zero_();
        embeds.grad?.zero_();
        using var scope = NewDisposeScope();
        var logits = model.forward(inputsEmbeds: embeds).Logits;                                  // [B, T, V]
        var loss = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[2]), targets.reshape(-1));
        loss.backward();
        var grads = model.named_parameters().Where(p => p.parameter.requires_grad && p.parameter.grad is not null)   // embed_tokens: unused here
            .ToDictionary(p => p.name, p => p.parameter.grad!.clone().MoveToOuterDisposeScope());
        grads["inputs_embeds"] = embeds.grad!.clone().MoveToOuterDisposeScope();
        return (loss.item<float>(), grads);
    }

    [Theory]
    [InlineData(false)]   // adapters only (stage 1: the decoder frozen under its adapters)
    [InlineData(true)]    // every weight trainable (full fine-tuning)
    public void Backward_Checkpointed_SameLossAndGradientsAsThePlainForward(bool allTrainable)
    {
        using var scope = NewDisposeScope();
        using var model = TinyModels.Create(TinyModels.Llama());
        foreach (var p in model.parameters()) p.requires_grad = allTrainable;
        Lora.AddAdapters(model, new LoraOptions(Rank: 4, Alpha: 8, Dropout: 0.3), seed: 7);
        using (no_grad())
            foreach (var (name, p) in model.named_parameters().Where(p => p.name.Contains("lora_B")))
                p.copy_(randn_like(p) * 0.1);   // fresh B is zero: give the adapters something to pass gradients through
        model.train();
        var embeds = (randn(2, 9, 32) * 0.5).requires_grad_(true);   // soft tokens: inputs that need a gradient
        var targets = randint(0, 97, [2, 9]);
        var rng = DropoutRandom.Snapshot(CPU);

        var plain = Step(model, embeds, targets, rng);
        Assert.Equal(1, ActivationCheckpoint.Enable(model));
        long before = ActivationCheckpoint.Recomputed;
        var checkpointed = Step(model, embeds, targets, rng);
        Assert.Equal(2, ActivationCheckpoint.Recomputed - before);   // both blocks of the tiny model
        ActivationCheckpoint.Enable(model, false);

        Assert.Equal(plain.Loss, checkpointed.Loss);
        Assert.Equal(plain.Grads.Keys.Order(), checkpointed.Grads.Keys.Order());
        Assert.True(plain.Grads.Count > (allTrainable ? 30 : 14));
        foreach (var (name, grad) in plain.Grads)
        {
            Assert.True(grad.abs().sum().item<float>() > 0, $"{name} got no gradient");
            TensorAssert.Close(grad, checkpointed.Grads[name], 1e-6, name);
        }
    }

    [Fact]
    public void Backward_FirstBlockReadsInputsWithoutGradient_AdaptersStillGetTheirGradients()
    {
        // An encoder's first block reads frozen embeddings: the node must run backward for the block's own adapters.
        using var scope = NewDisposeScope();
        using var model = TinyModels.Create(TinyModels.Llama());
        foreach (var p in model.parameters()) p.requires_grad = false;
        Lora.AddAdapters(model, new LoraOptions(Rank: 4, Alpha: 8, Dropout: 0), seed: 7);
        using (no_grad())
            foreach (var (_, p) in model.named_parameters().Where(p => p.name.Contains("lora_B"))) p.copy_(randn_like(p) * 0.1);
        model.train();
        ActivationCheckpoint.Enable(model);
        var ids = TinyModels.Ids([1, 5, 17, 42, 8, 3]);

        var logits = model.forward(ids).Logits;
        nn.functional.cross_entropy(logits.reshape(-1, 97), ids.reshape(-1)).backward();

        var first = model.named_parameters().Single(p => p.name == "model.layers.0.self_attn.q_proj.lora_A.weight").parameter;
        Assert.NotNull(first.grad);
        Assert.True(first.grad!.abs().sum().item<float>() > 0);
    }

    [Fact]
    public void Steps_Checkpointed_LiveTensorCountStaysFlat()
    {
        using var model = TinyModels.Create(TinyModels.Llama());
        Lora.AddAdapters(model, new LoraOptions(Rank: 4, Alpha: 8, Dropout: 0.1), seed: 7);
        model.train();
        ActivationCheckpoint.Enable(model);
        var ids = TinyModels.Ids([1, 5, 17, 42, 8, 3]);
        void Work()
        {
            using var scope = NewDisposeScope();
            var logits = model.forward(ids).Logits;
            nn.functional.cross_entropy(logits.reshape(-1, 97), ids.reshape(-1)).backward();
        }
        Work();
        long start = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (int i = 0; i < 20; i++) Work();
        Assert.Equal(start, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
        ids.Dispose();
    }
}
