using Gmsa.Engine.Text;

namespace Gmsa.Engine.Tests.Text;

public sealed class TokenizerConfigTests
{
    [Fact]
    public void SetModelMaxLength_ExistingConfig_ChangesOnlyThatField()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("tokenizer_config.json"), """{"bos_token": "<s>", "model_max_length": 512}""");

        TokenizerConfig.SetModelMaxLength(dir.Path, 1024);

        var written = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(dir.File("tokenizer_config.json")))!;
        Assert.Equal(1024, written["model_max_length"]!.GetValue<int>());
        Assert.Equal("<s>", written["bos_token"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("{\"bos_token\": ")]
    [InlineData("[1, 2]")]
    public void SetModelMaxLength_BrokenConfig_InvalidDataExceptionNamingTheFile(string json)
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("tokenizer_config.json"), json);

        var error = Assert.Throws<InvalidDataException>(() => TokenizerConfig.SetModelMaxLength(dir.Path, 1024));

        Assert.Contains("tokenizer_config.json", error.Message);
    }

    [Fact]
    public void SetModelMaxLength_NoConfig_WritesNothing()
    {
        using var dir = new TempDir();

        TokenizerConfig.SetModelMaxLength(dir.Path, 1024);

        Assert.False(File.Exists(dir.File("tokenizer_config.json")));
    }
}
