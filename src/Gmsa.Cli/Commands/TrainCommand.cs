using System.CommandLine;
using Gmsa.Cli.Plots;
using Gmsa.Engine.Training;
using Spectre.Console;

namespace Gmsa.Cli.Commands;

/// <summary>`gmsa train lm`: pretrain a LLaMA-architecture model from a recipe, with live progress and exact resume.</summary>
internal static class TrainCommand
{
    public static Command Create() => new("train", "Train models") { CreateLm(), ExportCommand.Create() };

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
            using var stop = new CancellationTokenSource();
            Console.CancelKeyPress += (_, e) =>
            {
                e.Cancel = true; // finish the step, save a checkpoint, exit; a second Ctrl+C is a hard stop
                if (stop.IsCancellationRequested) Environment.Exit(130);
                Console.Error.WriteLine("gmsa: stopping after this step (checkpoint follows); Ctrl+C again to abort");
                stop.Cancel();
            };
            string metrics = Path.Combine(paths.Run, "metrics.csv"), curve = Path.Combine(paths.Run, "loss_curve.png");
            void OnProgress(TrainingProgress p)
            {
                if (p.Checkpoint is not null || p.ValidationLoss is not null)
                    LossCurvePlot.Render(metrics, curve, Path.GetFileName(Path.GetFullPath(paths.Run)));
            }
            var result = WithProgressDisplay(r.Training.Steps, report =>
                PretrainingRun.Run(r, paths, parse.GetValue(resume), p => { report(p); OnProgress(p); }, stop.Token));
            Console.WriteLine(result.Completed
                ? $"done: {result.Step} steps, validation loss {result.ValidationLoss:F4}; model in {paths.FinalModel}"
                : $"stopped at step {result.Step}; continue with --resume");
            return result.Completed ? 0 : 130;
        }));
        return command;
    }

    /// <summary>A live bar on a terminal; one line per report otherwise (logs, CI, nohup).</summary>
    static TrainingResult WithProgressDisplay(int totalSteps, Func<Action<TrainingProgress>, TrainingResult> train)
    {
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
