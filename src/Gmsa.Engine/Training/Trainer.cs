using System.Diagnostics;
using Gmsa.Engine.Model;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Gmsa.Engine.Training;

/// <summary>What the loop reports: after every LogEvery steps, after each evaluation, after each checkpoint.</summary>
public sealed record TrainingProgress(int Step, int TotalSteps, double TrainLoss, double LearningRate, double TokensPerSecond,
    TimeSpan Elapsed, TimeSpan Remaining, double? ValidationLoss, string? Checkpoint);

/// <summary>How a run ended: the step reached, every step's training loss, and the last validation loss.</summary>
public sealed record TrainingResult(int Step, IReadOnlyList<double> StepLosses, double? ValidationLoss, bool Completed);

/// <summary>
/// The training loop, nanoGPT's train.py in a class: for each step, the learning rate from the
/// schedule, gradient accumulation over micro-batches, clipping, an AdamW step on float32 master
/// weights; evaluation and an atomic checkpoint at fixed intervals; metrics for every step.
/// <see cref="Run"/> resumes from the run's latest checkpoint when there is one, and a resumed run
/// repeats the uninterrupted run's losses exactly (same data order, weights, moments and schedule).
/// All tensor work happens on the calling thread, one dispose scope per step.
/// </summary>
public sealed class Trainer(ITrainingObjective objective, TrainingOptions options, string runDirectory)
{
    public string CheckpointDirectory => Path.Combine(runDirectory, "checkpoints");

    /// <param name="progress">Called on the training thread; an exception thrown here ends the run like a crash.</param>
    /// <param name="cancellation">Stops after the current step and saves a checkpoint first.</param>
    public TrainingResult Run(bool resume, Action<TrainingProgress>? progress = null, CancellationToken cancellation = default)
    {
        options.Validate();
        var schedule = options.Schedule;
        using var weights = new MasterWeights(objective.Trainable);
        using var optimizer = CreateOptimizer(weights);

        var state = new TrainerState();
        string? latest = resume ? TrainingCheckpoint.Latest(CheckpointDirectory) : null;
        if (resume && latest is null && Directory.Exists(CheckpointDirectory) && Directory.EnumerateFileSystemEntries(CheckpointDirectory).Any())
            throw new InvalidDataException($"{CheckpointDirectory} holds no complete checkpoint to resume from");
        if (!resume && TrainingCheckpoint.Latest(CheckpointDirectory) is not null)
            throw new InvalidOperationException($"{runDirectory} already holds checkpoints: resume it, or choose another run folder");
        if (latest is not null)
        {
            state = TrainingCheckpoint.Load(latest, weights, optimizer);
            objective.Seek(new DataPosition(state.DataEpoch, state.DataIndex));
            TrainingCheckpoint.RestoreRng(state.RngState);
            DropoutRandom.Restore(state.DropoutRngStates);
        }
        if (state.Step > options.Steps)
            throw new InvalidOperationException($"the checkpoint is at step {state.Step}, past the run's {options.Steps} steps");

        using var metrics = new MetricsLog(runDirectory, state.Step);
        metrics.Log(latest is null
            ? $"start: {options.Steps} steps, {weights.Parameters.Sum(p => p.numel()):N0} trainable parameters{(weights.IsMixed ? ", float32 master weights" : "")}"
            : $"resume from {latest} at step {state.Step}");
        metrics.Flush();

        var losses = new List<double>();
        var clock = Stopwatch.StartNew();
        double elapsedBefore = state.ElapsedSeconds, windowSeconds = 0;
        long windowTokens = 0;
        double? validation = state.LastValidationLoss;
        int step = state.Step, savedStep = state.Step;
        objective.SetTraining(true);

        string Save(double elapsed)
        {
            state = state with
            {
                DataEpoch = objective.Position.Epoch, DataIndex = objective.Position.Index,
                RngState = TrainingCheckpoint.CaptureRng(), DropoutRngStates = DropoutRandom.Capture(), ElapsedSeconds = elapsed, LastValidationLoss = validation,
            };
            var folder = TrainingCheckpoint.Save(CheckpointDirectory, state, weights, optimizer, options.KeepCheckpoints);
            savedStep = state.Step;
            metrics.Log($"step {state.Step}: checkpoint {folder}");
            return folder;
        }

        while (step < options.Steps && !cancellation.IsCancellationRequested)
        {
            double lr = schedule.At(step);
            foreach (var group in optimizer.ParamGroups) group.LearningRate = lr;
            var stepClock = Stopwatch.StartNew();
            double loss = 0, gradNorm;
            long tokens = 0;
            using (var scope = NewDisposeScope())
            {
                // Each micro-batch's summed loss is backpropagated and the gradients divided by the step's target
                // tokens at the end: micro-batches weigh by their tokens, not equally (no mean of means).
                double lossSum = 0;
                for (int micro = 0; micro < options.GradientAccumulation; micro++)
                {
                    var (microLoss, microTokens) = objective.NextLoss();
                    using (var tokenCount = microTokens.ToScalar()) // held through the native call (see Scalars)
                        microLoss.mul(tokenCount).backward();
                    lossSum += microLoss.item<float>() * microTokens;
                    tokens += microTokens;
                    weights.AccumulateGradients();
                }
                loss = lossSum / tokens;
                weights.ScaleGradients(1.0 / tokens);
                gradNorm = options.GradientClip > 0
                    ? nn.utils.clip_grad_norm_(weights.Parameters, options.GradientClip)
                    : double.NaN;
                if (!double.IsFinite(loss) || (options.GradientClip > 0 && !double.IsFinite(gradNorm)))
                    throw new InvalidOperationException($"training diverged at step {step}: loss {loss}, gradient norm {gradNorm}; lower the learning rate or resume from an earlier checkpoint");
                HeldScalarAdamW.Step(optimizer); // not optimizer.step(): its temporary Scalars can be finalized mid-call
                weights.PushToModel();
            }
            step++;
            losses.Add(loss);
            state = state with { Step = step, TokensSeen = state.TokensSeen + tokens };
            windowSeconds += stepClock.Elapsed.TotalSeconds;
            windowTokens += tokens;
            double elapsed = elapsedBefore + clock.Elapsed.TotalSeconds;

            double? stepValidation = null;
            if (step % options.EvalEvery == 0 || step == options.Steps)
            {
                objective.SetTraining(false);
                validation = stepValidation = objective.ValidationLoss(options.EvalWindows);
                objective.SetTraining(true);
                metrics.Log($"step {step}: validation loss {validation:F4} (perplexity {Math.Exp(validation.Value):F2})");
            }
            double tokensPerSecond = windowTokens / Math.Max(windowSeconds, 1e-9);
            metrics.Add(new MetricsRow(step - 1, state.TokensSeen, lr, loss, gradNorm, tokensPerSecond, elapsed, stepValidation));

            string? saved = step % options.CheckpointEvery == 0 || step == options.Steps ? Save(elapsed) : null;
            if (step % options.LogEvery == 0 || stepValidation is not null || saved is not null || step == options.Steps)
            {
                var remaining = TimeSpan.FromSeconds(windowSeconds / Math.Max(1, windowTokens) * tokens * (options.Steps - step));
                metrics.Log($"step {step}/{options.Steps}: loss {loss:F4}, lr {lr:G3}, grad norm {gradNorm:F3}, {tokensPerSecond:F0} tokens/s");
                metrics.Flush();
                progress?.Invoke(new TrainingProgress(step, options.Steps, loss, lr, tokensPerSecond,
                    TimeSpan.FromSeconds(elapsed), remaining, stepValidation, saved));
                windowSeconds = 0;
                windowTokens = 0;
            }
        }
        if (step > savedStep) Save(elapsedBefore + clock.Elapsed.TotalSeconds); // stopped between checkpoints
        metrics.Log(step == options.Steps ? "done" : $"stopped at step {step}");
        return new TrainingResult(step, losses, validation, step == options.Steps);
    }

    /// <summary>AdamW with decay on matrices only: decaying norm gains and biases toward zero only hurts.</summary>
    AdamW CreateOptimizer(MasterWeights weights)
    {
        var matrices = weights.Parameters.Where(p => p.dim() >= 2).ToList();
        var vectors = weights.Parameters.Where(p => p.dim() < 2).ToList();
        var groups = new List<AdamW.ParamGroup>
        {
            new(matrices, lr: options.LearningRate, beta1: options.Beta1, beta2: options.Beta2, eps: options.Epsilon, weight_decay: options.WeightDecay),
        };
        if (vectors.Count > 0)
            groups.Add(new(vectors, lr: options.LearningRate, beta1: options.Beta1, beta2: options.Beta2, eps: options.Epsilon, weight_decay: 0));
        return optim.AdamW(groups);
    }
}
