using Gmsa.Engine.Generation;
using Gmsa.Engine.Model;
using static TorchSharp.torch;

namespace Gmsa.Engine.Tests.Generation;

/// <summary>
/// A slot per sequence: joins copy the sequence alone, leaves free a slot, growth keeps every slot's positions, and the
/// CPU decode step over slots gives each sequence the logits it gets decoding alone from its own cache.
/// </summary>
public sealed class RowSlotCacheTests
{
    /// <summary>A one-row cache of <paramref name="prompt"/>, prefilled by the model.</summary>
    static KvCache Prefill(CausalLM model, long[] prompt)
    {
        var cache = new KvCache(model.Config.NumHiddenLayers, initialCapacity: 4);
        using var scope = NewDisposeScope();
        model.forward(TinyModels.Ids(prompt), cache: cache, lastTokenOnly: true);
        return cache;
    }

    [Fact]
    public void AddAndRemove_FreedSlot_IsReusedAndOthersKeepTheirLengths()
    {
        using var model = TinyModels.Create(TinyModels.Llama());
        using var inference = inference_mode();
        using var a = Prefill(model, [1, 5, 17]);
        using var b = Prefill(model, [1, 2, 3, 4, 5, 6, 7]);
        using var slots = new RowSlotCache(model.Config.NumHiddenLayers, initialCapacity: 2);

        int first = slots.Add(a), second = slots.Add(b);
        slots.Remove(first);
        int third = slots.Add(b);

        Assert.Equal((0, 1, 0), (first, second, third));
        Assert.Equal(7, slots.Length(second));
        Assert.Equal(7, slots.Length(third));
        Assert.Equal(2, slots.Count);
        Assert.Throws<ArgumentOutOfRangeException>(() => slots.Remove(2));
    }

    [Fact]
    public void Add_PastRowsAndColumns_KeepsEverySlotsKeysAndValues()
    {
        using var model = TinyModels.Create(TinyModels.Qwen2());
        using var inference = inference_mode();
        var prompts = new long[][] { [1, 5], [1, 9, 4, 3, 8], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11] };   // 11 > the initial 2 columns
        var caches = prompts.Select(p => Prefill(model, p)).ToArray();
        using var slots = new RowSlotCache(model.Config.NumHiddenLayers, initialCapacity: 2);
        var at = caches.Select(slots.Add).ToArray();                                                    // rows grow 1 -> 2 -> 4

        for (int i = 0; i < caches.Length; i++)
            for (int layer = 0; layer < model.Config.NumHiddenLayers; layer++)
            {
                long n = caches[i].Length;
                var (k, v) = slots.Reserve(layer, n);
                var (ek, ev) = caches[i].Reserve(layer, n)!.Value;
                Assert.True(k.narrow(0, at[i], 1).narrow(2, 0, n).eq(ek.narrow(2, 0, n)).all().item<bool>(), $"keys of sequence {i}, layer {layer}");
                Assert.True(v.narrow(0, at[i], 1).narrow(2, 0, n).eq(ev.narrow(2, 0, n)).all().item<bool>(), $"values of sequence {i}, layer {layer}");
            }
        foreach (var c in caches) c.Dispose();
    }

    [Fact]
    public void CpuDecodeStep_SequencesInSlots_GetTheLogitsEachGetsAlone()
    {
        using var model = TinyModels.Create(TinyModels.Qwen3());      // q/k norm and GQA through the slot path
        using var inference = inference_mode();
        var prompts = new long[][] { [1, 5, 17, 42], [1, 2], [1, 33, 34, 35, 36, 37, 38] };
        var alone = prompts.Select(p => Prefill(model, p)).ToArray();
        using var slots = new RowSlotCache(model.Config.NumHiddenLayers, initialCapacity: 4);
        var at = alone.Select(slots.Add).ToArray();
        slots.Remove(at[1]);                                          // the middle sequence leaves; a new one takes its slot
        var late = Prefill(model, [1, 70, 71]);
        at[1] = slots.Add(late);
        alone[1].Dispose();
        alone[1] = late;
        var step = new CpuDecodeStep(model);
        var tokens = new long[] { 9, 10, 11 };
        for (int s = 0; s < 6; s++)
        {
            var batched = step.Forward(tokens, at, slots);
            for (int i = 0; i < prompts.Length; i++)
            {
                var expected = step.Forward([tokens[i]], null, alone[i]);
                TensorAssert.Close(expected, batched.narrow(0, i, 1), 1e-5, $"step {s}, sequence {i}");
            }
            tokens = batched.argmax(-1).data<long>().ToArray();
        }
        Assert.Equal(alone.Select(c => c.Length), at.Select(slots.Length));
        foreach (var c in alone) c.Dispose();
    }
}
