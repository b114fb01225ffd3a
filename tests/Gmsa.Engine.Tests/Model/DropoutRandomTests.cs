using Gmsa.Engine.Model;
using static TorchSharp.torch;

namespace Gmsa.Engine.Tests.Model;

[Collection(GlobalRandomState.Name)]
public sealed class DropoutRandomTests
{
    [Fact]
    public void Apply_HalfProbability_ZeroesAboutHalfAndScalesTheRestByTwo()
    {
        using var scope = NewDisposeScope();
        var y = DropoutRandom.Apply(ones(100_000), 0.5);
        var kept = y.ne(0);
        Assert.InRange(kept.sum().item<long>(), 49_000, 51_000);
        Assert.Equal(2f, y.masked_select(kept).min().item<float>());
        Assert.Equal(2f, y.max().item<float>());
    }

    [Fact]
    public void CaptureRestore_AfterMoreDraws_SameMasksAgainAndTheDefaultGeneratorUntouched()
    {
        using var scope = NewDisposeScope();
        DropoutRandom.Seed(11);
        using var defaultBefore = get_rng_state();
        var saved = DropoutRandom.Capture();
        var first = DropoutRandom.Apply(ones(64), 0.3);
        DropoutRandom.Apply(ones(64), 0.3);
        DropoutRandom.Restore(saved);
        var again = DropoutRandom.Apply(ones(64), 0.3);

        TensorAssert.Identical(first, again);   // whether or not the CPU generator existed before the capture
        using var defaultAfter = get_rng_state();
        Assert.True(defaultBefore.eq(defaultAfter).all().item<bool>());
    }

    [Fact]
    public void Seed_SameSeed_SameMasks()
    {
        using var scope = NewDisposeScope();
        DropoutRandom.Seed(5);
        var a = DropoutRandom.Apply(ones(64), 0.5);
        DropoutRandom.Seed(5);
        var b = DropoutRandom.Apply(ones(64), 0.5);
        TensorAssert.Identical(a, b);
    }
}
