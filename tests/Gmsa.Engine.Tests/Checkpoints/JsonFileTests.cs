using Gmsa.Engine.Checkpoints;
using Gmsa.Engine.Compression;
using Gmsa.Engine.Model;
using Gmsa.Engine.Text;
using Gmsa.Engine.Training;

namespace Gmsa.Engine.Tests.Checkpoints;

/// <summary>Every reader of a model folder's, compressor folder's or recipe's JSON refuses a bad file in one wording, naming it.</summary>
public sealed class JsonFileTests : IDisposable
{
    readonly TempDir dir = new();

    public void Dispose() => dir.Dispose();

    static readonly ModelConfig Tiny = ModelConfig.Parse(
        """{"vocab_size":8,"hidden_size":8,"intermediate_size":8,"num_hidden_layers":1,"num_attention_heads":1}""");

    // The readers, each named by the file it reads (the recipes take any name).
    public static TheoryData<string> Readers() =>
        ["config.json", "generation_config.json", ShardedCheckpoint.IndexFile, CompressorConfig.FileName, "compressor-recipe.json", "training-recipe.json"];

    void Read(string file)
    {
        switch (file)
        {
            case "config.json": ModelConfig.Load(dir.File(file)); break;
            case "generation_config.json": GenerationConfig.Load(dir.Path, Tiny); break;
            case ShardedCheckpoint.IndexFile: ShardedCheckpoint.LoadFolder(dir.Path); break;
            case CompressorConfig.FileName: CompressorConfig.Load(dir.File(file)); break;
            case "compressor-recipe.json": CompressorRecipe.Load(dir.File(file)); break;
            case "training-recipe.json": TrainingRecipe.Load(dir.File(file)); break;
            default: throw new ArgumentException(file);
        }
    }

    [Theory]
    [MemberData(nameof(Readers))]
    public void Load_TruncatedJson_ThrowsInvalidDataNamingTheFile(string file)
    {
        File.WriteAllText(dir.File(file), """{ "a": """);

        var e = Assert.Throws<InvalidDataException>(() => Read(file));
        Assert.StartsWith($"'{dir.File(file)}' is not valid JSON (", e.Message);
    }

    [Fact]
    public void Load_ValueOfTheWrongType_ThrowsInvalidDataNamingTheFileAndTheField()
    {
        // a shape error from the deserializer reads as a syntax error does
        File.WriteAllText(dir.File(CompressorConfig.FileName), """{ "rates": "four" }""");

        var e = Assert.Throws<InvalidDataException>(() => Read(CompressorConfig.FileName));
        Assert.StartsWith($"'{dir.File(CompressorConfig.FileName)}' is not valid JSON (", e.Message);
        Assert.Contains("$.rates", e.Message);
    }

    [Theory]
    [InlineData("""{ "r": "8" }""")]    // a string where a node is read as an int: InvalidOperationException inside
    [InlineData("""[1, 2]""")]          // a list where an object belongs
    public void Read_NodeOfAnotherKind_ThrowsInvalidDataNamingTheFile(string json)
    {
        File.WriteAllText(dir.File("adapter_config.json"), json);

        var e = Assert.Throws<InvalidDataException>(() =>
            JsonFile.Read(dir.File("adapter_config.json"), text => System.Text.Json.Nodes.JsonNode.Parse(text)!["r"]!.GetValue<int>()));
        Assert.StartsWith($"'{dir.File("adapter_config.json")}' is not valid JSON (", e.Message);
    }

    [Fact]
    public void RunRecipe_RunFileCutShort_ThrowsInvalidDataNamingTheFile()
    {
        // run folders' files are read the same way (run.json here; trainer state, pass-key lengths, resumes)
        File.WriteAllText(dir.File("run.json"), """{ "recipe": """);

        var e = Assert.Throws<InvalidDataException>(() => ModelExport.RunRecipe(dir.Path));
        Assert.StartsWith($"'{dir.File("run.json")}' is not valid JSON (", e.Message);
    }

    [Theory]
    [InlineData("tokenizer_config.json", """{ "added_tokens_decoder": { "x": { "content": "a" } } }""")]   // an id that is not a number
    [InlineData("tokenizer_config.json", """{ "bos_token": """)]
    [InlineData("tokenizer.json", """[]""")]
    public void TokenizerFiles_Broken_ThrowInvalidDataNamingTheFile(string file, string json)
    {
        File.WriteAllText(dir.File(file), json);

        var e = Assert.Throws<InvalidDataException>(() =>
        {
            if (file == "tokenizer.json") ByteLevelBpeLoader.Load(dir.File(file));
            else TokenizerConfig.Load(dir.Path);
        });
        Assert.StartsWith($"'{dir.File(file)}' is not valid JSON (", e.Message);
    }
}
