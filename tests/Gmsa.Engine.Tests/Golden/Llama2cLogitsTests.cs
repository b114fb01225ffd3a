using System.Text.Json;
using Gmsa.Engine.Checkpoints;
using Gmsa.Engine.Generation;
using static TorchSharp.torch;

namespace Gmsa.Engine.Tests.Golden;

/// <summary>
/// stories260K's logits against llama2.c's own float32 forward pass (Fixtures/stories260k_llama2c_logits.json,
/// written by Fixtures/llama2c_logits.c over run.c), position by position over a 32-token greedy run.
/// </summary>
public sealed class Llama2cLogitsTests(Stories260kFixture stories) : IClassFixture<Stories260kFixture>
{
    // Both sides compute in float32 with different summation orders; logits span about ±15.
    const double Tolerance = 1e-4;

    sealed record Position(long Token, long Argmax, float[] Logits);

    static List<Position> ReadReference()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Fixtures", "stories260k_llama2c_logits.json");
        using var json = JsonDocument.Parse(File.ReadAllText(path));
        return json.RootElement.GetProperty("positions").EnumerateArray()
            .Select(p => new Position(p.GetProperty("token").GetInt64(), p.GetProperty("argmax").GetInt64(),
                p.GetProperty("logits").EnumerateArray().Select(v => v.GetSingle()).ToArray()))
            .ToList();
    }

    static Tensor Expected(List<Position> reference) =>
        tensor(reference.SelectMany(p => p.Logits).ToArray(), [reference.Count, reference[0].Logits.Length]);

    [Fact]
    public void FullForward_Stories260k_MatchesLlama2cLogitsPerPosition()
    {
        var reference = ReadReference();
        using var model = PretrainedModel.Load(stories.Require());
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var ids = tensor(reference.Select(p => p.Token).ToArray(), [1, reference.Count]);
        using var output = model.forward(ids);
        var logits = output.Logits[0];

        TensorAssert.Close(Expected(reference), logits, Tolerance, "logits vs llama2.c");
        Assert.Equal(reference.Select(p => p.Argmax), logits.argmax(-1).data<long>().ToArray());
    }

    [Fact]
    public void CachedDecode_Stories260k_MatchesLlama2cLogitsPerPosition()
    {
        // llama2.c itself decodes one token at a time over its KV cache: the same walk through ours.
        var reference = ReadReference();
        using var model = PretrainedModel.Load(stories.Require());
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        using var cache = new KvCache(model.Config.NumHiddenLayers, initialCapacity: 8); // forced to grow
        var rows = new List<Tensor>();
        foreach (var p in reference)
        {
            using var output = model.forward(tensor(new[] { p.Token }, [1, 1]), cache: cache);
            rows.Add(output.Logits[0, 0].clone());
        }
        TensorAssert.Close(Expected(reference), stack(rows), Tolerance, "cached logits vs llama2.c");
    }
}
