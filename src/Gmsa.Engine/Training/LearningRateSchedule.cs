namespace Gmsa.Engine.Training;

/// <summary>
/// Linear warm-up from 0 to the peak rate, then a cosine decay to the floor at the last step
/// (nanoGPT's get_lr, and the official GMSA launcher's "cosine, 10% warm-up"). A pure function of
/// the step, so a resumed run needs no scheduler state beyond the step itself.
/// </summary>
public sealed record LearningRateSchedule(double PeakRate, double MinRate, int WarmupSteps, int TotalSteps)
{
    public double At(int step)
    {
        if (step < WarmupSteps) return PeakRate * (step + 1) / WarmupSteps;
        if (step >= TotalSteps - 1 || TotalSteps <= WarmupSteps) return MinRate;
        double progress = (double)(step - WarmupSteps) / (TotalSteps - 1 - WarmupSteps); // 0 -> 1
        return MinRate + 0.5 * (1 + Math.Cos(Math.PI * progress)) * (PeakRate - MinRate);
    }

    public void Validate()
    {
        if (PeakRate <= 0 || MinRate < 0 || MinRate > PeakRate)
            throw new ArgumentException($"learning rates must satisfy 0 <= min ({MinRate}) <= peak ({PeakRate}), peak > 0");
        if (WarmupSteps < 0 || TotalSteps <= 0 || WarmupSteps > TotalSteps)
            throw new ArgumentException($"warm-up steps ({WarmupSteps}) must lie in 0..total steps ({TotalSteps}), total > 0");
    }
}
