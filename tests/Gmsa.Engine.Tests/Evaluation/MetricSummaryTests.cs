using Gmsa.Engine.Evaluation;

namespace Gmsa.Engine.Tests.Evaluation;

public sealed class MetricSummaryTests
{
    [Fact]
    public void Of_Scores_AveragesAndCounts() =>
        Assert.Equal(new MetricSummary(0.5, 3), MetricSummary.Of([0.5, 1.0, 0.0]));

    [Fact]
    public void Of_NoSamples_IsZeroWithCountZero() =>
        Assert.Equal(new MetricSummary(0, 0), MetricSummary.Of(Array.Empty<double>()));

    [Fact]
    public void Of_PassFail_IsTheShareThatPassed() =>
        Assert.Equal(new MetricSummary(0.75, 4), MetricSummary.Of([true, false, true, true]));

    [Fact]
    public void Of_SamplesWithMetric_ScoresEachThenAverages()
    {
        (string Gold, string Prediction)[] samples = [("Paris", "paris"), ("Paris", "London")];
        Assert.Equal(new MetricSummary(0.5, 2), MetricSummary.Of(samples, s => SquadMetrics.ExactMatch(s.Gold, s.Prediction)));
    }
}
