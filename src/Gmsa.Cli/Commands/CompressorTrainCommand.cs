using System.CommandLine;
using Gmsa.Engine.Compression;

namespace Gmsa.Cli.Commands;

/// <summary>`gmsa train ae` (stage 1, autoencoder) and `gmsa train finetune` (stage 2, question answering).</summary>
internal static class CompressorTrainCommand
{
    public static Command Create(CompressorStage stage)
    {
        bool ae = stage == CompressorStage.Autoencoder;
        var recipe = new Option<string>("--recipe") { Description = "GMSA training recipe", DefaultValueFactory = _ => ae ? "recipes/gmsa-tiny-ae.json" : "recipes/gmsa-tiny-finetune.json" };
        var model = new Option<string>("--model") { Description = "base model folder (encoder, alignment blocks and decoder come from it)", DefaultValueFactory = _ => "models/gmsa-tiny" };
        var data = new Option<string[]>("--data")
        {
            Description = ae ? "folder with train.bin and validation.bin (gmsa data encode)"
                : "folders with train.jsonl and (in at least one) validation.jsonl, {\"input\", \"prompt\", \"answer\"} lines",
            DefaultValueFactory = _ => ae ? ["data/tokens"] : ["data/qa", "data/passkey"],
            AllowMultipleArgumentsPerToken = true,
        };
        var tokens = new Option<string>("--tokens") { Description = "token files for the recipe's autoencoder_share", DefaultValueFactory = _ => "data/tokens" };
        var init = new Option<string>("--compressor")
        {
            Description = ae ? "a compressor folder of the recipe's shape to continue training (weights only: a fresh optimizer and schedule)"
                : "the stage-1 compressor folder to fine-tune (none for the full-context reference, method 'none')",
        };
        var run = new Option<string>("--out") { Description = "run folder: run.json, metrics.csv, loss_curve.png, train.log, checkpoints/, final/", Required = true };
        var resume = new Option<bool>("--resume") { Description = "continue the run folder's latest checkpoint (exactly where it stopped)" };
        var command = ae
            ? new Command("ae", "GMSA stage 1: train the compressor as an autoencoder (the decoder restates the context)") { recipe, model, data, init, run, resume }
            : new Command("finetune", "GMSA stage 2: train the decoder to answer questions from soft tokens (compressor frozen)") { recipe, model, data, tokens, init, run, resume };
        command.SetAction(parse => CommandGuard.Run(() =>
        {
            var r = CompressorRecipe.Load(parse.GetValue(recipe)!);
            if (r.Stage != stage) throw new ArgumentException($"the recipe is for stage '{r.Stage}', not this verb's");
            var paths = new CompressorPaths(parse.GetValue(model)!, parse.GetValue(data)!, parse.GetValue(run)!,
                parse.GetValue(init), ae ? null : parse.GetValue(tokens));
            return TrainCommand.Train(r.Training.Steps, paths.Run, $"compressor in {paths.Final}",
                (report, stop) => CompressorTrainingRun.Run(r, paths, parse.GetValue(resume), report, stop));
        }));
        return command;
    }

    /// <summary>`gmsa train export-compressor`: the compressor folder of a run's latest checkpoint.</summary>
    public static Command ExportCheckpoint()
    {
        var run = new Option<string>("--run") { Description = "run folder (gmsa train ae|finetune --out)", Required = true };
        var model = new Option<string>("--model") { Description = "the run's base model folder", DefaultValueFactory = _ => "models/gmsa-tiny" };
        var output = new Option<string>("--out") { Description = "compressor folder to write", Required = true };
        var command = new Command("export-compressor", "Write a compressor folder from a run's latest checkpoint (finished or not)") { run, model, output };
        command.SetAction(parse => CommandGuard.Run(() =>
        {
            var checkpoint = CompressorTrainingRun.ExportCheckpoint(parse.GetValue(run)!, parse.GetValue(model)!, parse.GetValue(output)!);
            Console.WriteLine($"wrote {parse.GetValue(output)} from {checkpoint}");
            return 0;
        }));
        return command;
    }
}
