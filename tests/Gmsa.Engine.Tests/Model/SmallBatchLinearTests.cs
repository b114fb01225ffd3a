using Gmsa.Engine.Model;
using static TorchSharp.torch;

namespace Gmsa.Engine.Tests.Model;

/// <summary>The decode kernel against hand-computed products and against libtorch's linear.</summary>
public sealed class SmallBatchLinearTests
{
    [Fact]
    public void Forward_TwoByThreeWeights_GivesHandComputedProducts()
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var w = tensor(new float[] { 1, 2, 3, -1, 0, 0.5f }, [2, 3]);
        var x = tensor(new float[] { 1, 1, 1, 2, 0, -2 }, [2, 1, 3]);
        var b = tensor(new float[] { 10, 20 });

        var y = SmallBatchLinear.Forward(x, w, b);

        // rows: [1,1,1] -> (6, -0.5) + bias; [2,0,-2] -> (-4, -3) + bias
        Assert.Equal(new long[] { 2, 1, 2 }, y.shape);
        Assert.Equal(new float[] { 16, 19.5f, 6, 17 }, y.data<float>().ToArray());
    }

    [Theory]
    [InlineData(1, 384)] // one decode row, a multiple of every vector width
    [InlineData(3, 64)]  // fewer rows than a block of four
    [InlineData(6, 72)]  // a block of four and two more; In not a multiple of 32
    [InlineData(5, 37)]  // In not a multiple of 8: the scalar tail
    public void Forward_Float32_MatchesLibtorchLinear(int rows, int inFeatures)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var g = new Generator(3);
        var x = randn([rows, inFeatures], generator: g);
        var q = randn([40, inFeatures], generator: g);
        var k = randn([24, inFeatures], generator: g);
        var bias = randn([24], generator: g);

        var outputs = SmallBatchLinear.Forward(x, [q, k], [null, bias]);

        TensorAssert.Close(nn.functional.linear(x, q), outputs[0], 1e-4, "q");
        TensorAssert.Close(nn.functional.linear(x, k, bias), outputs[1], 1e-4, "k with bias");
    }

    [Theory]
    [InlineData(1, 384)]
    [InlineData(6, 72)]
    [InlineData(2, 37)]
    [InlineData(16, 384)] // the 512-bit tiles (In a multiple of 32), sixteen rows as in a full decode batch
    [InlineData(7, 64)]   // tiles for four rows, the other three through the widening path
    public void Forward_Bf16_MatchesFloat32ProductOfTheSameValues(int rows, int inFeatures)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var g = new Generator(5);
        var x = randn([rows, inFeatures], generator: g).to(ScalarType.BFloat16);
        var w = randn([48, inFeatures], generator: g).to(ScalarType.BFloat16);

        var y = SmallBatchLinear.Forward(x, w);

        // The kernel accumulates in float32 and rounds once: within one bf16 rounding of the exact product.
        var exact = nn.functional.linear(x.to(ScalarType.Float32), w.to(ScalarType.Float32));
        Assert.Equal(ScalarType.BFloat16, y.dtype);
        float relative = ((y.to(ScalarType.Float32) - exact).abs() / (exact.abs() + 1e-3f)).max().item<float>();
        Assert.True(relative <= 1.0f / 128, $"relative error {relative} above bf16's rounding");
    }

    [Fact]
    public void Forward_Float32RowInABatchOfSixteen_EqualsTheRowAloneBitForBit()
    {
        // Sixteen rows go through the 512-bit tiles, one row through the single-row dot: the same sums in the same order,
        // so a float32 row's result does not depend on its batch mates.
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var g = new Generator(11);
        var x = randn([16, 64], generator: g);
        var w = randn([36, 64], generator: g);

        var batched = SmallBatchLinear.Forward(x, w);

        for (int r = 0; r < 16; r++)
            Assert.Equal(SmallBatchLinear.Forward(x.narrow(0, r, 1), w).data<float>().ToArray(), batched.narrow(0, r, 1).data<float>().ToArray());
    }

    [Theory]
    [InlineData(16, 96)]   // four 4 x 4 tiles per block of weight rows
    [InlineData(7, 64)]    // a tile, then three rows one by one
    public void Forward_Bf16RowInABatch_EqualsTheRowAloneBitForBit(int rows, int inFeatures)
    {
        Assert.SkipUnless(System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated, "the batch-invariant bf16 tiles need native 512-bit vectors");
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var g = new Generator(13);
        var x = randn([rows, inFeatures], generator: g).to(ScalarType.BFloat16);
        var w = randn([38, inFeatures], generator: g).to(ScalarType.BFloat16);    // 38: nine blocks of four and two single rows

        var batched = SmallBatchLinear.Forward(x, w).to(ScalarType.Float32);

        for (int r = 0; r < rows; r++)
            Assert.Equal(SmallBatchLinear.Forward(x.narrow(0, r, 1), w).to(ScalarType.Float32).data<float>().ToArray(),
                batched.narrow(0, r, 1).data<float>().ToArray());
    }

    [Theory]
    [InlineData(1.0f, (ushort)0x3F80)]
    [InlineData(1.00390625f, (ushort)0x3F80)]   // exactly half way, even mantissa: rounds down
    [InlineData(1.01171875f, (ushort)0x3F82)]   // half way above an odd mantissa: rounds up to even
    [InlineData(-2.5f, (ushort)0xC020)]
    public void ToBf16_HalfWayValues_RoundToNearestEven(float value, ushort expected) =>
        Assert.Equal(expected, SmallBatchLinear.ToBf16(value));

    [Fact]
    public void Forward_WeightOfOtherDtype_ThrowsArgumentException()
    {
        using var scope = NewDisposeScope();
        Assert.Throws<ArgumentException>(() => SmallBatchLinear.Forward(ones(1, 8), ones(4, 8, dtype: ScalarType.BFloat16)));
    }
}
