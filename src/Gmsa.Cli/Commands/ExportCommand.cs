using System.CommandLine;
using Gmsa.Cli.Plots;
using Gmsa.Engine.Training;

namespace Gmsa.Cli.Commands;

/// <summary>`gmsa train export`: a finished run becomes a model folder with a measured model card.</summary>
internal static class ExportCommand
{
    public static Command Create()
    {
        var run = new Option<string>("--run") { Description = "a completed run folder (gmsa train lm --out)", Required = true };
        var output = new Option<string>("--out") { Description = "model folder to write (weights, tokenizer, README.md card, loss_curve.png)", Required = true };
        var dataCard = new Option<string>("--data-card") { Description = "the corpus data card to include", DefaultValueFactory = _ => "data/corpus/DATA_CARD.md" };
        var recipe = new Option<string>("--recipe") { Description = "the recipe path to quote in the card's commands", DefaultValueFactory = _ => "recipes/gmsa-tiny.json" };
        var command = new Command("export", "Copy a finished run's model, measure validation/test perplexity and samples, write the model card") { run, output, dataCard, recipe };
        command.SetAction(parse => CommandGuard.Run(() =>
        {
            string runDir = parse.GetValue(run)!, outDir = parse.GetValue(output)!;
            string[] commands =
            [
                "dotnet run --project src/Gmsa.Cli -c Release -- data prepare",
                "dotnet run --project src/Gmsa.Cli -c Release -- data tokenizer --vocab-size 8192",
                "dotnet run --project src/Gmsa.Cli -c Release -- data encode",
                $"dotnet run --project src/Gmsa.Cli -c Release -- train lm --recipe {parse.GetValue(recipe)} --out {runDir}",
                $"dotnet run --project src/Gmsa.Cli -c Release -- train export --run {runDir} --out {outDir}",
            ];
            var card = ModelExport.Export(runDir, outDir, commands, parse.GetValue(dataCard));
            LossCurvePlot.Render(Path.Combine(runDir, "metrics.csv"), Path.Combine(outDir, card.LossCurveFile), card.Name);
            File.WriteAllText(Path.Combine(outDir, "README.md"), card.ToMarkdown());
            Console.WriteLine($"{outDir}: {card.Parameters:N0} parameters, validation perplexity {Math.Exp(card.ValidationLoss):F2}, " +
                              $"test perplexity {Math.Exp(card.TestLoss):F2}");
            return 0;
        }));
        return command;
    }
}
