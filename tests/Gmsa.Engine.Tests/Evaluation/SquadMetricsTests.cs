using Gmsa.Engine.Evaluation;

namespace Gmsa.Engine.Tests.Evaluation;

/// <summary>SQuAD v1.1 exact match and F1 against hand-computed values.</summary>
public sealed class SquadMetricsTests
{
    [Theory]
    [InlineData("The Eiffel Tower!", "eiffel tower")]
    [InlineData("The Eiffel-Tower, an icon", "eiffeltower icon")]  // punctuation goes before articles, without a space
    [InlineData("Theater  an anthem", "theater anthem")]           // articles only as whole words
    [InlineData("  A Tale of\tTwo Cities. ", "tale of two cities")]
    [InlineData("the", "")]
    public void Normalize_Answers_MatchTheScript(string answer, string expected) =>
        Assert.Equal(expected, SquadMetrics.Normalize(answer));

    [Fact]
    public void ExactMatch_CaseArticleAndPunctuationDiffer_ScoresOne() =>
        Assert.Equal(1.0, SquadMetrics.ExactMatch("eiffel tower", "The Eiffel Tower!"));

    [Fact]
    public void ExactMatch_ExtraWord_ScoresZero() =>
        Assert.Equal(0.0, SquadMetrics.ExactMatch("eiffel tower", "the Eiffel Tower in Paris"));

    [Fact]
    public void F1_PartialOverlap_MatchesHandComputedValue()
    {
        // gold [eiffel tower in paris], prediction [eiffel tower]: 2 shared; P = 2/2, R = 2/4; F1 = 2 x 1 x 0.5 / 1.5 = 2/3
        Assert.Equal(2.0 / 3, SquadMetrics.F1("the Eiffel Tower in Paris", "Eiffel Tower"), 12);
    }

    [Fact]
    public void F1_RepeatedPredictionWord_CountsSharedWordsOnce()
    {
        // gold [tower], prediction [tower tower tower]: shared min(3, 1) = 1; P = 1/3, R = 1; F1 = (2/3) / (4/3) = 1/2
        Assert.Equal(0.5, SquadMetrics.F1("tower", "tower tower tower"), 12);
    }

    [Fact]
    public void F1_NothingShared_ScoresZero() =>
        Assert.Equal(0.0, SquadMetrics.F1("Paris", "the Eiffel Tower"));

    [Fact]
    public void F1_ManyGolds_TakesTheBest()
    {
        // prediction [eiffel tower in paris] vs [paris]: P = 1/4, R = 1, F1 = 0.4; vs [eiffel tower]: P = 2/4, R = 1, F1 = 2/3
        Assert.Equal(2.0 / 3, SquadMetrics.F1(["Paris", "the Eiffel Tower"], "Eiffel Tower in Paris"), 12);
    }

    [Fact]
    public void ExactMatch_ManyGolds_TakesTheBest()
    {
        Assert.Equal(1.0, SquadMetrics.ExactMatch(["Paris", "The Eiffel Tower"], "eiffel tower"));
        Assert.Equal(0.0, SquadMetrics.ExactMatch(["Paris", "The Eiffel Tower"], "London"));
    }

    [Fact]
    public void ExactMatch_NoGolds_Throws() =>
        Assert.Throws<ArgumentException>(() => SquadMetrics.ExactMatch([], "Paris"));
}
