using Gmsa.Engine.Evaluation;

namespace Gmsa.Engine.Tests.Evaluation;

public sealed class RougeLTests
{
    [Fact]
    public void F1_HandComputedOverlap_IsTwoPrOverPPlusR()
    {
        // Lower-cased: [the cat sat on the mat] vs [cat was on the mat]; LCS = cat on the mat = 4.
        // P = 4/5, R = 4/6; F = 2PR / (P + R) = (32/30) / (44/30) = 8/11
        Assert.Equal(8.0 / 11, RougeL.F1("The Cat sat on the mat", "cat was on the MAT"), 12);
    }

    [Fact]
    public void F1_IdenticalIgnoringCase_ScoresOne() =>
        Assert.Equal(1.0, RougeL.F1("The cat sat", "the CAT sat"), 12);

    [Fact]
    public void F1_NoSharedWords_ScoresZero() =>
        Assert.Equal(0.0, RougeL.F1("the cat sat", "a dog ran"));

    [Fact]
    public void F1_EmptyHypothesis_ScoresZero() =>
        Assert.Equal(0.0, RougeL.F1("the cat sat", "  "));

    [Fact]
    public void LongestCommonSubsequence_ReversedOrder_KeepsOnlyAnInOrderSubset()
    {
        Assert.Equal(1, RougeL.LongestCommonSubsequence(["a", "b", "c"], ["c", "b", "a"]));
        Assert.Equal(2, RougeL.LongestCommonSubsequence(["a", "b", "c", "d"], ["b", "a", "d", "c"]));
    }
}
