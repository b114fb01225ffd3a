using Gmsa.Engine.Training;

namespace Gmsa.Engine.Tests.Training;

public sealed class TrainingRecipeTests
{
    [Fact]
    public void Load_GmsaTinyRecipe_IsADeepLlamaWithA1024Context()
    {
        var recipe = TrainingRecipe.Load(RepoFiles.Path("recipes/gmsa-tiny.json"));
        Assert.Equal("llama", recipe.Model.ModelType);
        Assert.True(recipe.Model.NumHiddenLayers >= 12);
        Assert.True(recipe.SequenceLength >= 1024 && recipe.Model.MaxPositionEmbeddings >= 1024);
        Assert.Equal("bfloat16", recipe.Dtype);
    }

    [Fact]
    public void ToJson_ThenParse_RoundTrips()
    {
        var recipe = TrainingRecipe.Load(RepoFiles.Path("recipes/gmsa-tiny.json"));
        var again = TrainingRecipe.Parse(recipe.ToJson());
        Assert.Equal(recipe.Model, again.Model with { EosTokenIds = recipe.Model.EosTokenIds });
        Assert.Equal(recipe.Model.EosTokenIds, again.Model.EosTokenIds);
        Assert.Equal(recipe.Training, again.Training);
        Assert.Equal(recipe.ToJson(), again.ToJson());
    }

    [Fact]
    public void Load_CopyRecipe_ContinuesGmsaTinyOnRepeatedPassagesAndRoundTrips()
    {
        var recipe = TrainingRecipe.Load(RepoFiles.Path("recipes/gmsa-tiny-copy.json"));
        Assert.Equal("models/gmsa-tiny", recipe.InitFrom);
        Assert.Equal(TrainingRecipe.Load(RepoFiles.Path("recipes/gmsa-tiny.json")).Model.ToJson(), recipe.Model.ToJson());
        Assert.Equal(new RepeatedPassages { Fraction = 0.75, MinTokens = 8, MaxTokens = 128 }, recipe.RepeatedPassages);
        var again = TrainingRecipe.Parse(recipe.ToJson());
        Assert.Equal(recipe.InitFrom, again.InitFrom);
        Assert.Equal(recipe.RepeatedPassages, again.RepeatedPassages);
        Assert.Equal(recipe.ToJson(), again.ToJson());
    }

    [Theory]
    [InlineData("\"repeated_passages\": {\"fraction\": 2}", "fraction")]
    [InlineData("\"repeated_passages\": {\"fraction\": 0.5, \"min_tokenz\": 4}", "min_tokenz")]
    [InlineData("\"init_from\": \"\"", "init_from")]
    public void Parse_BadContinuedPretrainingField_ThrowsNamingIt(string field, string expected)
    {
        var json = $$"""{"model": {"vocab_size": 64, "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "max_position_embeddings": 64}, "training": {}, "sequence_length": 32, {{field}} }""";
        var e = Assert.ThrowsAny<Exception>(() => TrainingRecipe.Parse(json));
        Assert.Contains(expected, e.Message);
    }

    [Theory]
    [InlineData("\"lerning_rate\": 0.1", "lerning_rate")]            // a typo must not silently use the default
    [InlineData("\"steps\": 0", "total steps")]
    public void Parse_BadTrainingField_ThrowsNamingIt(string field, string expected)
    {
        var json = $$"""{"model": {"vocab_size": 64, "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "max_position_embeddings": 64}, "training": { {{field}} }, "sequence_length": 32}""";
        var e = Assert.ThrowsAny<Exception>(() => TrainingRecipe.Parse(json));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Parse_SequenceLongerThanTheModel_Throws()
    {
        var json = """{"model": {"vocab_size": 64, "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "max_position_embeddings": 64}, "training": {}, "sequence_length": 128}""";
        var e = Assert.Throws<InvalidDataException>(() => TrainingRecipe.Parse(json));
        Assert.Contains("sequence_length 128", e.Message);
    }
}
