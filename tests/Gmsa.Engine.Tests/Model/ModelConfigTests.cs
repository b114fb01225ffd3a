using Gmsa.Engine.Model;

namespace Gmsa.Engine.Tests.Model;

public sealed class ModelConfigTests
{
    // Trimmed from the published config.json of each family (values as released).
    const string Llama32 = """
        {"architectures":["LlamaForCausalLM"],"model_type":"llama","vocab_size":128256,"hidden_size":3072,
         "intermediate_size":8192,"num_hidden_layers":28,"num_attention_heads":24,"num_key_value_heads":8,"head_dim":128,
         "hidden_act":"silu","max_position_embeddings":131072,"rms_norm_eps":1e-05,"rope_theta":500000.0,
         "rope_scaling":{"factor":32.0,"high_freq_factor":4.0,"low_freq_factor":1.0,"original_max_position_embeddings":8192,"rope_type":"llama3"},
         "tie_word_embeddings":true,"bos_token_id":128000,"eos_token_id":[128001,128008,128009],"torch_dtype":"bfloat16","attention_bias":false}
        """;
    const string Qwen25 = """
        {"model_type":"qwen2","vocab_size":151936,"hidden_size":896,"intermediate_size":4864,"num_hidden_layers":24,
         "num_attention_heads":14,"num_key_value_heads":2,"max_position_embeddings":32768,"rms_norm_eps":1e-06,
         "rope_theta":1000000.0,"sliding_window":32768,"use_sliding_window":false,"tie_word_embeddings":true,
         "bos_token_id":151643,"eos_token_id":151645,"torch_dtype":"bfloat16","hidden_act":"silu"}
        """;
    const string Qwen3NewRopeForm = """
        {"model_type":"qwen3","vocab_size":151936,"hidden_size":2560,"intermediate_size":9728,"num_hidden_layers":36,
         "num_attention_heads":32,"num_key_value_heads":8,"head_dim":128,"max_position_embeddings":262144,"rms_norm_eps":1e-06,
         "rope_parameters":{"rope_type":"default","rope_theta":5000000.0},"tie_word_embeddings":true,"dtype":"bfloat16",
         "eos_token_id":151645}
        """;
    const string Mistral = """
        {"model_type":"mistral","vocab_size":32000,"hidden_size":4096,"intermediate_size":14336,"num_hidden_layers":32,
         "num_attention_heads":32,"num_key_value_heads":8,"max_position_embeddings":32768,"rms_norm_eps":1e-05,
         "rope_theta":10000.0,"sliding_window":4096,"bos_token_id":1,"eos_token_id":2}
        """;

    [Fact]
    public void Parse_Llama32_ReadsGqaHeadDimLlama3ScalingAndEosList()
    {
        var c = ModelConfig.Parse(Llama32);
        Assert.Equal((24, 8, 128, 3), (c.NumAttentionHeads, c.NumKeyValueHeads, c.HeadDim, c.KvGroups));
        Assert.Equal(new RopeScaling("llama3", 32, 1, 4, 8192), c.RopeScaling);
        Assert.Equal(500000.0, c.RopeTheta);
        Assert.Equal([128001, 128008, 128009], c.EosTokenIds);
        Assert.True(c.TieWordEmbeddings);
        Assert.False(c.AttentionBias);
        Assert.Equal("bfloat16", c.TorchDtype);
    }

    [Fact]
    public void Parse_Qwen25_HasBiasDerivedHeadDimAndNoSlidingWindow()
    {
        var c = ModelConfig.Parse(Qwen25);
        Assert.True(c.AttentionBias);
        Assert.False(c.QkNorm);
        Assert.Equal(896 / 14, c.HeadDim);
        Assert.Null(c.SlidingWindow);
        Assert.Equal(32768, c.ContextLength);
        Assert.Equal([151645], c.EosTokenIds);
    }

    [Fact]
    public void Parse_Qwen3RopeParameters_ReadsThetaQkNormAndDtypeKey()
    {
        var c = ModelConfig.Parse(Qwen3NewRopeForm);
        Assert.Equal(5000000.0, c.RopeTheta);
        Assert.Null(c.RopeScaling);
        Assert.True(c.QkNorm);
        Assert.Equal(128, c.HeadDim);
        Assert.Equal("bfloat16", c.TorchDtype);
    }

    [Fact]
    public void Parse_Mistral_SlidingWindowCapsContextLength()
    {
        var c = ModelConfig.Parse(Mistral);
        Assert.Equal(4096, c.SlidingWindow);
        Assert.Equal(4096, c.ContextLength);
    }

    [Theory]
    [InlineData("""{"model_type":"gpt2","vocab_size":1,"hidden_size":1,"intermediate_size":1,"num_hidden_layers":1,"num_attention_heads":1}""", "gpt2")]
    [InlineData("""{"model_type":"llama","vocab_size":1,"hidden_size":8,"intermediate_size":1,"num_hidden_layers":1,"num_attention_heads":3,"num_key_value_heads":2}""", "multiple")]
    [InlineData("""{"model_type":"llama","hidden_size":8,"intermediate_size":1,"num_hidden_layers":1,"num_attention_heads":1}""", "vocab_size")]
    [InlineData("""{"model_type":"llama","vocab_size":1,"hidden_size":8,"intermediate_size":1,"num_hidden_layers":1,"num_attention_heads":1,"rope_scaling":{"rope_type":"yarn","factor":4}}""", "yarn")]
    public void Parse_Unsupported_ThrowsNamingTheProblem(string json, string named)
    {
        var e = Assert.ThrowsAny<Exception>(() => ModelConfig.Parse(json));
        Assert.Contains(named, e.Message);
    }

    [Fact]
    public void Load_TruncatedJson_ThrowsInvalidDataNamingTheFile()
    {
        using var dir = new Gmsa.Engine.Tests.TempDir();
        string path = dir.File("config.json");
        File.WriteAllText(path, """{ "model_type": """);

        var e = Assert.Throws<InvalidDataException>(() => ModelConfig.Load(path));
        Assert.StartsWith($"'{path}' is not valid JSON (", e.Message);
    }

    [Fact]
    public void ToJson_ThenParse_RoundTrips()
    {
        var c = ModelConfig.Parse(Llama32);
        Assert.Equal(c with { EosTokenIds = [] }, ModelConfig.Parse(c.ToJson()) with { EosTokenIds = [] });
        Assert.Equal(c.EosTokenIds, ModelConfig.Parse(c.ToJson()).EosTokenIds);
        var m = ModelConfig.Parse(Mistral);
        Assert.Equal(m.SlidingWindow, ModelConfig.Parse(m.ToJson()).SlidingWindow);
    }
}
