using System.Globalization;
using Gmsa.Engine.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Gmsa.Engine.Tests.Training;

/// <summary>The loop's accumulation weighs micro-batches by their target tokens, as one big batch would.</summary>
public sealed class GradientAccumulationTests
{
    /// <summary>One weight w; micro-batch i has mean loss (i + 1) * w over (i + 1) * 2 tokens (1w over 2, then 2w over 4).</summary>
    sealed class UnequalMicroBatches : ITrainingObjective
    {
        readonly Parameter w = new(tensor(new float[] { 1 }));
        int next;
        public IReadOnlyList<(string Name, Parameter Parameter)> Trainable => [("w", w)];
        public (Tensor Loss, long Tokens) NextLoss()
        {
            int i = next++ % 2;
            return ((i + 1) * w.sum(), (i + 1) * 2);
        }
        public double ValidationLoss(int? maxWindows) => 0;
        public DataPosition Position => new(0, next);
        public void Seek(DataPosition position) => next = (int)position.Index;
        public void SetTraining(bool training) { }
    }

    [Fact]
    public void Trainer_MicroBatchesOfUnequalTokens_WeighsThemByTokens()
    {
        using var run = new TempDir();
        var options = new TrainingOptions
        {
            Steps = 1, GradientAccumulation = 2, WarmupSteps = 0, LearningRate = 1e-3, MinLearningRate = 1e-4,
            GradientClip = 1e9, EvalEvery = 1, CheckpointEvery = 1, LogEvery = 1,
        };
        var result = new Trainer(new UnequalMicroBatches(), options, run.Path).Run(resume: false);
        // Token-weighted: (1 * 2 + 2 * 4) / 6 = 5/3 for both the loss (w = 1) and dloss/dw; a mean of means would say 1.5.
        Assert.Equal(5.0 / 3, result.StepLosses[0], 5);
        var row = MetricsLog.ReadRows(Path.Combine(run.Path, "metrics.csv")).Single();
        Assert.Equal(5.0 / 3, row.GradNorm, 4);
    }
}
