using Gmsa.Engine.Training;

namespace Gmsa.Engine.Tests.Training;

public sealed class ModelCardTests
{
    static ModelCard Card(string recipeFile, string? baseTraining = null) => new()
    {
        Name = "gmsa-tiny",
        Recipe = TrainingRecipe.Load(RepoFiles.Path(recipeFile)),
        Parameters = 22_029_696,
        WeightBytes = 44_071_488,
        FinalState = new TrainerState { Step = 1000, TokensSeen = 4_096_000, ElapsedSeconds = 5400 },
        ValidationLoss = 4.2,
        ValidationTokens = 131_072,
        TestLoss = 4.0,
        TestTokens = 209_920,
        PerplexityWindow = 1024,
        TrainTokens = 7_840_000,
        Commands = ["gmsa train lm"],
        Samples = [],
        RecipePath = recipeFile,
        BaseTraining = baseTraining,
    };

    [Fact]
    public void TrainingRow_FromScratch_IsThisRunsStepsTokensAndTime()
    {
        var card = Card("recipes/gmsa-tiny.json");

        Assert.Equal("1,000 steps, 4.1 M tokens (0.5 epochs of 7.84 M), 1.5 h on 2 CPU cores", card.TrainingRow());
        Assert.DoesNotContain("continued", card.ToMarkdown());
        Assert.DoesNotContain("loops", card.ToMarkdown());
    }

    [Fact]
    public void ToMarkdown_ContinuedRun_NamesTheStartingModelItsRowAndTheRepeatedPassages()
    {
        var card = Card("recipes/gmsa-tiny-copy.json", baseTraining: "1,600 steps, 13.1 M tokens");

        var markdown = card.ToMarkdown();

        Assert.Equal("from scratch: 1,600 steps, 13.1 M tokens; then continued: 1,000 steps, 4.1 M tokens (0.5 epochs of 7.84 M), " +
                     "1.5 h on 2 CPU cores, 75 % of windows rewritten as repeated passages of 8-128 tokens", card.TrainingRow());
        Assert.Contains("continued from `models/gmsa-tiny`", markdown);
        Assert.Contains("The recipe (`recipes/gmsa-tiny-copy.json`), as it ran:", markdown);
        // The copy run trained on 512-token windows; its perplexity is still over the 1024-token context.
        Assert.Contains("trained on 512-token windows", markdown);
        Assert.Contains("(1024 tokens each,", markdown);
        Assert.Contains("fall into loops", markdown);
    }

    [Fact]
    public void ToMarkdown_ContinuedRunWithoutRepeatedPassages_SaysNothingOfCopying()
    {
        var card = Card("recipes/gmsa-tiny-copy.json");
        card = card with { Recipe = card.Recipe with { RepeatedPassages = null } };

        var markdown = card.ToMarkdown();

        Assert.Contains("Trained from scratch, then continued from `models/gmsa-tiny`.", markdown);
        Assert.DoesNotContain("repeated_passages", markdown);
        Assert.DoesNotContain("fall into loops", markdown);
    }

    [Fact]
    public void BaseTrainingRow_CardWithATrainingRow_ReturnsItsValue()
    {
        var dir = Directory.CreateTempSubdirectory("gmsa-card-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "README.md"), "# m\n\n| | |\n|---|---|\n| training | 1,600 steps, 13.1 M tokens |\n| context | 1024 |\n");
            Assert.Equal("1,600 steps, 13.1 M tokens", ModelExport.BaseTrainingRow(dir));
            File.Delete(Path.Combine(dir, "README.md"));
            Assert.Null(ModelExport.BaseTrainingRow(dir));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void BaseTrainingRow_ShippedGmsaTiny_ReadsItsCard()
    {
        var row = ModelExport.BaseTrainingRow(RepoFiles.Path("models/gmsa-tiny"));

        Assert.NotNull(row);
        Assert.Contains("steps", row);
        Assert.Contains("on 2 CPU cores", row);
    }
}
