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
        var baseRecipe = new Option<string>("--base-recipe")
        {
            Description = "for a run that continued a model (the recipe's init_from): the recipe that made that model, quoted in the card's commands",
            DefaultValueFactory = _ => "recipes/gmsa-tiny.json",
        };
        var command = new Command("export", "Copy a finished run's model, measure validation/test perplexity and samples, write the model card")
        {
            run, output, dataCard, recipe, baseRecipe,
        };
        command.SetAction(parse => CommandGuard.Run(() =>
        {
            string runDir = parse.GetValue(run)!, outDir = parse.GetValue(output)!;
            string recipePath = parse.GetValue(recipe)!;
            var commands = Commands(runDir, outDir, recipePath, ModelExport.RunRecipe(runDir).InitFrom, parse.GetValue(baseRecipe)!);
            var card = ModelExport.Export(runDir, outDir, commands, parse.GetValue(dataCard), recipePath: recipePath);
            LossCurvePlot.Render(Path.Combine(runDir, "metrics.csv"), Path.Combine(outDir, card.LossCurveFile), card.Name);
            File.WriteAllText(Path.Combine(outDir, "README.md"), card.ToMarkdown());
            Console.WriteLine($"{outDir}: {card.Parameters:N0} parameters, validation perplexity {Math.Exp(card.ValidationLoss):F2}, " +
                              $"test perplexity {Math.Exp(card.TestLoss):F2}");
            return 0;
        }));
        return command;
    }

    /// <summary>The card's commands from a clone: data, then (for a continued run) the starting model, then this run and its export.</summary>
    internal static List<string> Commands(string runDir, string outDir, string recipePath, string? initFrom, string baseRecipePath)
    {
        const string gmsa = "dotnet run --project src/Gmsa.Cli -c Release --";
        var commands = new List<string> { $"{gmsa} data prepare", $"{gmsa} data tokenizer --vocab-size 8192", $"{gmsa} data encode" };
        if (initFrom is not null)
        {
            string baseRun = $"runs/{Path.GetFileName(initFrom.TrimEnd('/'))}-base";
            commands.Add($"{gmsa} train lm --recipe {baseRecipePath} --out {baseRun}");
            commands.Add($"{gmsa} train export --run {baseRun} --out {initFrom} --recipe {baseRecipePath}");
        }
        commands.Add($"{gmsa} train lm --recipe {recipePath} --out {runDir}");
        commands.Add($"{gmsa} train export --run {runDir} --out {outDir}" + (initFrom is null ? "" : $" --recipe {recipePath} --base-recipe {baseRecipePath}"));
        return commands;
    }
}
