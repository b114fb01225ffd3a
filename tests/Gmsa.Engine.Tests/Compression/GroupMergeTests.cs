using Gmsa.Engine.Compression;
using static TorchSharp.torch;

namespace Gmsa.Engine.Tests.Compression;

/// <summary>Group Merging against hand-computed means.</summary>
public sealed class GroupMergeTests
{
    // Row b, token t, feature d holds 100 b + 10 t + d: every mean below is easy to compute by hand.
    static Tensor States(int batch, int tokens, int dims = 2)
    {
        var x = new float[batch * tokens * dims];
        for (int b = 0; b < batch; b++)
            for (int t = 0; t < tokens; t++)
                for (int d = 0; d < dims; d++) x[(b * tokens + t) * dims + d] = 100 * b + 10 * t + d;
        return tensor(x, [batch, tokens, dims]);
    }

    static float[] Row(Tensor merged, int b, int g) => merged[b][g].data<float>().ToArray();

    // Means of three are not exact in float32 (1/3 is rounded).
    static void Near(float[] expected, float[] actual) =>
        Assert.True(expected.Zip(actual).All(p => Math.Abs(p.First - p.Second) < 1e-4), $"[{string.Join(", ", actual)}] != [{string.Join(", ", expected)}]");

    [Fact]
    public void Merge_DivisibleLength_AveragesEachGroup()
    {
        var (merged, counts) = GroupMerge.Merge(States(1, 4), [4], [2]);
        Assert.Equal([2], counts);
        Assert.Equal([1, 2, 2], merged.shape);
        Near([5f, 6f], Row(merged, 0, 0));   // tokens 0, 1: (0 + 10) / 2, (1 + 11) / 2
        Near([25f, 26f], Row(merged, 0, 1));  // tokens 2, 3
    }

    [Fact]
    public void Merge_PartialLastGroup_AveragesRealTokensOnly()
    {
        var (merged, counts) = GroupMerge.Merge(States(1, 5), [5], [2]);
        Assert.Equal([3], counts);                    // ceil(5 / 2)
        Near([40f, 41f], Row(merged, 0, 2)); // token 4 alone
    }

    [Fact]
    public void Merge_PaddedRows_NeverAverageThePadding()
    {
        // Row 0 has 6 real tokens, row 1 only 3 (its tokens 3..5 are padding and hold large values).
        var (merged, counts) = GroupMerge.Merge(States(2, 6), [6, 3], [4, 4]);
        Assert.Equal([2, 1], counts);
        Assert.Equal([2, 2, 2], merged.shape);
        Near([15f, 16f], Row(merged, 0, 0));   // tokens 0..3
        Near([45f, 46f], Row(merged, 0, 1));   // tokens 4, 5
        Near([110f, 111f], Row(merged, 1, 0)); // tokens 0..2 of row 1: 100 + (0 + 10 + 20) / 3
        Near([0f, 0f], Row(merged, 1, 1));     // nothing after the row's last group
    }

    [Fact]
    public void Merge_RateOne_IsTheIdentity()
    {
        var states = States(2, 5, dims: 3);
        var (merged, counts) = GroupMerge.Merge(states, [5, 5], [1, 1]);
        Assert.Equal([5, 5], counts);
        TensorAssert.Identical(states, merged);
    }

    [Fact]
    public void Merge_DifferentRatesPerRow_EachRowUsesItsOwn()
    {
        var (merged, counts) = GroupMerge.Merge(States(2, 4), [4, 4], [4, 2]);
        Assert.Equal([1, 2], counts);
        Near([15f, 16f], Row(merged, 0, 0));
        Near([105f, 106f], Row(merged, 1, 0));
    }
}
