using System.CommandLine;
using Gmsa.Cli.Plots;
using Gmsa.Engine.Compression;
using Gmsa.Engine.Training;
using Spectre.Console;

namespace Gmsa.Cli.Commands;

/// <summary>`gmsa train lm`: pretrain a LLaMA-architecture model from a recipe, with live progress and exact resume.</summary>
internal static class TrainCommand
{
    public static Command Create() => new("train", "Train models")
    {
        CreateLm(), ExportCommand.Create(), CompressorTrainCommand.Create(CompressorStage.Autoencoder), CompressorTrainCommand.Create(CompressorStage.Finetune),
        CompressorTrainCommand.ExportCheckpoint(),
    };

    static Command CreateLm()
    {
        var recipe = new Option<string>("--recipe") { Description = "training recipe (model config, schedule, data settings)", DefaultValueFactory = _ => "recipes/gmsa-tiny.json" };
        var data = new Option<string>("--data") { Description = "folder with train.bin and validation.bin (gmsa data encode)", DefaultValueFactory = _ => "data/tokens" };
        var tokenizer = new Option<string>("--tokenizer") { Description = "tokenizer folder (gmsa data tokenizer)", DefaultValueFactory = _ => "data/tokenizer" };
        var run = new Option<string>("--out") { Description = "run folder: run.json, metrics.csv, loss_curve.png, train.log, checkpoints/, final/", Required = true };
        var resume = new Option<bool>("--resume") { Description = "continue the run folder's latest checkpoint (exactly where it stopped)" };
        var command = new Command("lm", "Pretrain a causal language model on token files") { recipe, data, tokenizer, run, resume };
        command.SetAction(parse => CommandGuard.Run(() =>
        {
            var paths = new PretrainingPaths(parse.GetValue(data)!, parse.GetValue(tokenizer)!, parse.GetValue(run)!);
            var r = TrainingRecipe.Load(parse.GetValue(recipe)!);
            return Train(r.Training.Steps, paths.Run, $"model in {paths.FinalModel}",
                (report, stop) => PretrainingRun.Run(r, paths, parse.GetValue(resume), report, stop));
        }));
        return command;
    }

    /// <summary>
    /// Runs a training loop with live progress and Ctrl+C handling, then prints how it ended: exit code 0 when every
    /// step is done, 130 when it stopped early (a checkpoint was saved; --resume continues).
    /// </summary>
    internal static int Train(int steps, string runFolder, string output, Func<Action<TrainingProgress>, CancellationToken, TrainingResult> run)
    {
        using var stop = StopOnCtrlC();
        var result = WithProgressDisplay(steps, runFolder, report => run(report, stop.Token));
        Console.WriteLine(result.Completed
            ? $"done: {result.Step} steps, validation loss {result.ValidationLoss:F4}; {output}"
            : $"stopped at step {result.Step}; continue with --resume");
        return result.Completed ? 0 : 130;
    }

    /// <summary>Ctrl+C finishes the step, saves a checkpoint and exits; a second Ctrl+C is a hard stop.</summary>
    static CancellationTokenSource StopOnCtrlC()
    {
        var stop = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            if (stop.IsCancellationRequested) Environment.Exit(130);
            Console.Error.WriteLine("gmsa: stopping after this step (checkpoint follows); Ctrl+C again to abort");
            stop.Cancel();
        };
        return stop;
    }

    /// <summary>
    /// A live bar on a terminal, one line per report otherwise (logs, CI, nohup); the run's loss curve is redrawn
    /// at every evaluation and checkpoint.
    /// </summary>
    static TrainingResult WithProgressDisplay(int totalSteps, string runFolder, Func<Action<TrainingProgress>, TrainingResult> run)
    {
        string metrics = Path.Combine(runFolder, "metrics.csv"), curve = Path.Combine(runFolder, "loss_curve.png");
        TrainingResult train(Action<TrainingProgress> report) => run(p =>
        {
            report(p);
            if (p.Checkpoint is not null || p.ValidationLoss is not null)
                LossCurvePlot.Render(metrics, curve, Path.GetFileName(Path.GetFullPath(runFolder)));
        });
        static string Describe(TrainingProgress p) =>
            $"step {p.Step}/{p.TotalSteps}  loss {p.TrainLoss:F3}" + (p.ValidationLoss is { } v ? $"  val {v:F3}" : "") +
            $"  lr {p.LearningRate:G2}  {p.TokensPerSecond:F0} tok/s  ETA {p.Remaining:hh\\:mm\\:ss}";
        if (!AnsiConsole.Profile.Capabilities.Interactive)
            return train(p => Console.Error.WriteLine(Describe(p)));
        TrainingResult? result = null;
        AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .Start(context =>
            {
                var task = context.AddTask("starting", maxValue: totalSteps);
                result = train(p =>
                {
                    task.Value = p.Step;
                    task.Description = Describe(p);
                });
            });
        return result!;
    }
}
