using Gmsa.Engine.Training;

namespace Gmsa.Engine.Tests.Training;

public sealed class LearningRateScheduleTests
{
    // Peak 1.0, floor 0.1, 10 warm-up steps, 111 steps: the cosine spans steps 10..110 (100 intervals).
    static readonly LearningRateSchedule Schedule = new(1.0, 0.1, WarmupSteps: 10, TotalSteps: 111);

    [Theory]
    [InlineData(0, 0.1)]     // (0 + 1) / 10 of the peak
    [InlineData(4, 0.5)]
    [InlineData(9, 1.0)]     // warm-up ends at the peak
    [InlineData(10, 1.0)]    // cosine at progress 0
    [InlineData(60, 0.55)]   // progress 1/2: 0.1 + 0.5 x (1 + cos(pi/2)) x 0.9
    [InlineData(35, 0.1 + 0.5 * (1 + 0.7071067811865476) * 0.9)] // progress 1/4: cos(pi/4)
    [InlineData(110, 0.1)]   // the last step sits on the floor
    [InlineData(500, 0.1)]
    public void At_HandComputedSteps_MatchesWarmupThenCosine(int step, double expected) =>
        Assert.Equal(expected, Schedule.At(step), 12);

    [Fact]
    public void At_AfterWarmup_NeverIncreases()
    {
        for (int step = 11; step < 111; step++)
            Assert.True(Schedule.At(step) <= Schedule.At(step - 1), $"rate rose at step {step}");
    }

    [Theory]
    [InlineData(0, 0.1, 10, 100)]
    [InlineData(1.0, 2.0, 10, 100)]
    [InlineData(1.0, 0.1, 200, 100)]
    [InlineData(1.0, 0.1, 10, 0)]
    public void Validate_InconsistentSettings_Throws(double peak, double min, int warmup, int total) =>
        Assert.Throws<ArgumentException>(() => new LearningRateSchedule(peak, min, warmup, total).Validate());
}
