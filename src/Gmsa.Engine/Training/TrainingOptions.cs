namespace Gmsa.Engine.Training;

/// <summary>The optimisation recipe of a run: schedule, AdamW, clipping, accumulation, and how often to evaluate and save.</summary>
public sealed record TrainingOptions
{
    /// <summary>Optimizer steps in the whole run (the cosine schedule ends at the last one).</summary>
    public int Steps { get; init; } = 1000;
    /// <summary>Micro-batches whose gradients are summed (in float32) before each optimizer step.</summary>
    public int GradientAccumulation { get; init; } = 1;
    public double LearningRate { get; init; } = 1e-3;
    public double MinLearningRate { get; init; } = 1e-4;
    public int WarmupSteps { get; init; } = 100;
    /// <summary>Decoupled weight decay, applied to matrices only (not to norms, biases or other vectors).</summary>
    public double WeightDecay { get; init; } = 0.1;
    public double Beta1 { get; init; } = 0.9;
    public double Beta2 { get; init; } = 0.95;
    public double Epsilon { get; init; } = 1e-8;
    /// <summary>Global gradient-norm limit (0 = no clipping).</summary>
    public double GradientClip { get; init; } = 1.0;
    public int EvalEvery { get; init; } = 250;
    /// <summary>Validation sequences per periodic evaluation (null = the whole split).</summary>
    public int? EvalWindows { get; init; } = 64;
    public int CheckpointEvery { get; init; } = 500;
    public int KeepCheckpoints { get; init; } = 2;
    /// <summary>Steps between progress reports and log lines.</summary>
    public int LogEvery { get; init; } = 10;
    /// <summary>
    /// Recompute each transformer block in backward instead of keeping its activations (<see cref="Model.ActivationCheckpoint"/>):
    /// about one more forward per step for a fraction of the activation memory, for large backbones on one GPU.
    /// </summary>
    public bool ActivationCheckpointing { get; init; }

    [System.Text.Json.Serialization.JsonIgnore]
    public LearningRateSchedule Schedule => new(LearningRate, MinLearningRate, WarmupSteps, Steps);

    public void Validate()
    {
        Schedule.Validate();
        if (GradientAccumulation < 1) throw new ArgumentException($"gradient accumulation must be at least 1, got {GradientAccumulation}");
        if (WeightDecay < 0) throw new ArgumentException($"weight decay must be non-negative, got {WeightDecay}");
        if (Beta1 is < 0 or >= 1 || Beta2 is < 0 or >= 1) throw new ArgumentException($"betas must lie in [0, 1), got {Beta1}, {Beta2}");
        if (GradientClip < 0) throw new ArgumentException($"gradient clip must be non-negative, got {GradientClip}");
        if (EvalEvery < 1 || CheckpointEvery < 1 || LogEvery < 1 || KeepCheckpoints < 1)
            throw new ArgumentException("eval, checkpoint and log intervals and the number of kept checkpoints must be at least 1");
        if (EvalWindows is < 1) throw new ArgumentException($"evaluation windows must be at least 1, got {EvalWindows}");
    }
}
