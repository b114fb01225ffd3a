using Gmsa.Engine.Evaluation;

namespace Gmsa.Engine.Tests.Evaluation;

public sealed class PrefixMatchTests
{
    [Fact]
    public void Score_DivergesMidway_IsSharedPrefixOverReferenceLength() =>
        Assert.Equal(0.5, PrefixMatch.Score([1, 2, 3, 4], [1, 2, 9, 4])); // 2 of 4; the matching 4 after the slip does not count

    [Fact]
    public void Score_Identical_ScoresOne() =>
        Assert.Equal(1.0, PrefixMatch.Score([5, 6, 7], [5, 6, 7]));

    [Fact]
    public void Score_FirstTokenWrong_ScoresZero() =>
        Assert.Equal(0.0, PrefixMatch.Score([1, 2, 3, 4], [0, 2, 3, 4]));

    [Fact]
    public void Score_LongerHypothesisAfterFullMatch_ScoresOne() =>
        Assert.Equal(1.0, PrefixMatch.Score([1, 2, 3], [1, 2, 3, 4, 5]));

    [Fact]
    public void Score_ShorterHypothesis_CountsOnlyWhatItHas() =>
        Assert.Equal(0.6, PrefixMatch.Score([1, 2, 3, 4, 5], [1, 2, 3]), 12);

    [Fact]
    public void Score_EmptyHypothesis_ScoresZero() =>
        Assert.Equal(0.0, PrefixMatch.Score([1, 2], []));

    [Fact]
    public void Score_EmptyReference_Throws() =>
        Assert.Throws<ArgumentException>(() => PrefixMatch.Score([], [1]));
}
