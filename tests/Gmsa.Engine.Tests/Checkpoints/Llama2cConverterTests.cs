using System.Buffers.Binary;
using System.Text.Json;
using Gmsa.Engine.Checkpoints;
using Gmsa.Engine.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace Gmsa.Engine.Tests.Checkpoints;

public sealed class Llama2cConverterTests
{
    const string LegacyBin = "stories260k/stories260K.bin";
    const string V1Bin = "stories260k/stories260K_v1.bin";
    const string Tokenizer = "stories260k/tok512.model";

    [Fact]
    public void PermuteForRotateHalf_OneHeadDim4_RowsBecome0213()
    {
        using var scope = torch.NewDisposeScope();
        var w = torch.arange(16, dtype: ScalarType.Float32).reshape(4, 4); // row r holds 4r..4r+3

        var p = Llama2cConverter.PermuteForRotateHalf(w, numHeads: 1);

        Assert.Equal(new float[] { 0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 12, 13, 14, 15 }, p.data<float>().ToArray());
    }

    [Fact]
    public void PermuteForRotateHalf_TwoHeadsDim8_PermutesWithinEachHead()
    {
        using var scope = torch.NewDisposeScope();
        var w = torch.arange(8, dtype: ScalarType.Float32).reshape(8, 1); // row r holds r

        var p = Llama2cConverter.PermuteForRotateHalf(w, numHeads: 2);

        // Per head of 4 rows: even rows (first of each pair) then odd rows.
        Assert.Equal(new float[] { 0, 2, 1, 3, 4, 6, 5, 7 }, p.data<float>().ToArray());
    }

    [Fact]
    public void PermuteForRotateHalf_ThenRotateHalfRope_EqualsInterleavedRopeThenPermute()
    {
        // The reason for the permutation: HF's rotate-half RoPE on permuted q must be llama2.c's
        // interleaved RoPE on the original q, reordered the same way (so q.k scores are unchanged).
        using var scope = torch.NewDisposeScope();
        const int heads = 2, headSize = 8, dim = heads * headSize, position = 5;
        var w = torch.randn(new long[] { dim, dim }, ScalarType.Float64, generator: new Generator(1));
        var x = torch.randn(new long[] { dim, 1 }, ScalarType.Float64, generator: new Generator(2));

        double[] qLlama = w.matmul(x).data<double>().ToArray();
        double[] qHf = Llama2cConverter.PermuteForRotateHalf(w, heads).matmul(x).data<double>().ToArray();
        double[] expected = Llama2cConverter.PermuteForRotateHalf(
            torch.tensor(RopeInterleaved(qLlama, headSize, position)).reshape(dim, 1), heads).data<double>().ToArray();

        double[] actual = RopeRotateHalf(qHf, headSize, position);
        for (int i = 0; i < dim; i++) Assert.Equal(expected[i], actual[i], 1e-12);
    }

    // llama2.c run.c: rotates pairs (2i, 2i+1) of each head by pos * 10000^(-2i/head_size).
    static double[] RopeInterleaved(double[] q, int headSize, int pos)
    {
        var r = (double[])q.Clone();
        for (int h = 0; h < q.Length; h += headSize)
            for (int i = 0; i < headSize / 2; i++)
            {
                double theta = pos * Math.Pow(10000, -2.0 * i / headSize);
                double a = q[h + 2 * i], b = q[h + 2 * i + 1];
                r[h + 2 * i] = a * Math.Cos(theta) - b * Math.Sin(theta);
                r[h + 2 * i + 1] = a * Math.Sin(theta) + b * Math.Cos(theta);
            }
        return r;
    }

    // transformers' rotate_half: rotates pairs (i, i + head_size/2) by the same angles.
    static double[] RopeRotateHalf(double[] q, int headSize, int pos)
    {
        var r = (double[])q.Clone();
        int half = headSize / 2;
        for (int h = 0; h < q.Length; h += headSize)
            for (int i = 0; i < half; i++)
            {
                double theta = pos * Math.Pow(10000, -2.0 * i / headSize);
                double a = q[h + i], b = q[h + i + half];
                r[h + i] = a * Math.Cos(theta) - b * Math.Sin(theta);
                r[h + i + half] = a * Math.Sin(theta) + b * Math.Cos(theta);
            }
        return r;
    }

    [Fact]
    public void Llama2cConverter_Stories260kLegacyAndV1_ProduceIdenticalTensors()
    {
        string legacy = Fixtures.Require(LegacyBin), v1 = Fixtures.Require(V1Bin), tok = Fixtures.Require(Tokenizer);
        using var scope = torch.NewDisposeScope();
        using var dir = new TempDir();

        Llama2cConverter.Convert(legacy, tok, dir.File("legacy"));
        Llama2cConverter.Convert(v1, tok, dir.File("v1"));

        var a = ShardedCheckpoint.LoadFolder(dir.File("legacy"));
        var b = ShardedCheckpoint.LoadFolder(dir.File("v1"));
        Assert.Equal(a.Keys.Order(), b.Keys.Order());
        foreach (var (name, t) in a)
            Assert.True(t.bytes.SequenceEqual(b[name].bytes), $"{name} differs between the legacy and v1 conversions");
        Assert.Equal(File.ReadAllText(dir.File("legacy/config.json")), File.ReadAllText(dir.File("v1/config.json")));
    }

    [Fact]
    public void Llama2cConverter_Stories260k_WritesExpectedKeysShapesAndConfig()
    {
        string legacy = Fixtures.Require(LegacyBin), tok = Fixtures.Require(Tokenizer);
        using var scope = torch.NewDisposeScope();
        using var dir = new TempDir();

        Llama2cConverter.Convert(legacy, tok, dir.Path);

        var header = SafeTensors.ReadHeader(dir.File("model.safetensors"));
        var expected = new Dictionary<string, long[]> { ["model.embed_tokens.weight"] = [512, 64], ["model.norm.weight"] = [64] };
        for (int i = 0; i < 5; i++)
        {
            string p = $"model.layers.{i}.";
            expected[p + "input_layernorm.weight"] = [64];
            expected[p + "self_attn.q_proj.weight"] = [64, 64];
            expected[p + "self_attn.k_proj.weight"] = [32, 64]; // 4 kv heads of 8
            expected[p + "self_attn.v_proj.weight"] = [32, 64];
            expected[p + "self_attn.o_proj.weight"] = [64, 64];
            expected[p + "post_attention_layernorm.weight"] = [64];
            expected[p + "mlp.gate_proj.weight"] = [172, 64];
            expected[p + "mlp.down_proj.weight"] = [64, 172];
            expected[p + "mlp.up_proj.weight"] = [172, 64];
        }
        Assert.Equal(expected.Keys.Order(), header.Keys.Order()); // shared classifier: no lm_head.weight
        foreach (var (name, shape) in expected)
        {
            Assert.Equal(shape, header[name].Shape);
            Assert.Equal("F32", header[name].Dtype);
        }

        var config = ModelConfig.Load(dir.File("config.json"));
        Assert.Equal(("llama", 512, 64, 172, 5), (config.ModelType, config.VocabSize, config.HiddenSize, config.IntermediateSize, config.NumHiddenLayers));
        Assert.Equal((8, 4, 8, 512), (config.NumAttentionHeads, config.NumKeyValueHeads, config.HeadDim, config.MaxPositionEmbeddings));
        Assert.Equal((1e-5, 10000.0, true, "float32"), (config.RmsNormEps, config.RopeTheta, config.TieWordEmbeddings, config.TorchDtype));
        Assert.Equal(1, config.BosTokenId);
        Assert.Equal([2], config.EosTokenIds);

        using var gen = JsonDocument.Parse(File.ReadAllText(dir.File("generation_config.json")));
        Assert.Equal((1, 2), (gen.RootElement.GetProperty("bos_token_id").GetInt32(), gen.RootElement.GetProperty("eos_token_id").GetInt32()));
        using var tokConfig = JsonDocument.Parse(File.ReadAllText(dir.File("tokenizer_config.json")));
        Assert.Equal("LlamaTokenizer", tokConfig.RootElement.GetProperty("tokenizer_class").GetString());
        Assert.Equal(512, tokConfig.RootElement.GetProperty("model_max_length").GetInt32());
        Assert.True(tokConfig.RootElement.GetProperty("add_bos_token").GetBoolean());
        Assert.False(tokConfig.RootElement.GetProperty("add_eos_token").GetBoolean());
        Assert.Equal(File.ReadAllBytes(tok), File.ReadAllBytes(dir.File("tokenizer.model")));
    }

    [Fact]
    public void Llama2cConverter_SecondConversionIntoSameFolder_Succeeds()
    {
        string legacy = Fixtures.Require(LegacyBin), v1 = Fixtures.Require(V1Bin), tok = Fixtures.Require(Tokenizer);
        using var dir = new TempDir();
        Llama2cConverter.Convert(legacy, tok, dir.Path);

        Llama2cConverter.Convert(v1, tok, dir.Path); // replaces every file, a read-only fixture's copy included

        Assert.Equal(
            ["config.json", "generation_config.json", "model.safetensors", "tokenizer.model", "tokenizer_config.json"],
            Directory.GetFiles(dir.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        if (!OperatingSystem.IsWindows())
            Assert.True(File.GetUnixFileMode(dir.File("tokenizer.model")).HasFlag(UnixFileMode.UserWrite));
    }

    [Fact]
    public void Llama2cConverter_Stories260k_ValuesMatchRawFileWithQRowsPermuted()
    {
        string legacy = Fixtures.Require(LegacyBin), tok = Fixtures.Require(Tokenizer);
        using var scope = torch.NewDisposeScope();
        using var dir = new TempDir();
        Llama2cConverter.Convert(legacy, tok, dir.Path);
        var weights = ShardedCheckpoint.LoadFolder(dir.Path);
        byte[] raw = File.ReadAllBytes(legacy);
        float Raw(long floatIndex) => BinaryPrimitives.ReadSingleLittleEndian(raw.AsSpan((int)(28 + 4 * floatIndex)));
        const int dim = 64, vocab = 512, layers = 5;

        // Values quoted from the file itself: embedding row 0 and layer 0's attention norm.
        Assert.Equal(-0.29474878f, weights["model.embed_tokens.weight"][0, 0].item<float>());
        Assert.Equal(0.97224295f, weights["model.layers.0.input_layernorm.weight"][0].item<float>());

        // Layer 0 wq starts after the embedding and all rms_att; head 1 (rows 8..15) local row 1 in
        // HF order is the second even row of the pairs, llama2.c row 8 + 2.
        long wq0 = (long)vocab * dim + layers * dim;
        var q = weights["model.layers.0.self_attn.q_proj.weight"];
        for (int c = 0; c < dim; c++)
        {
            Assert.Equal(Raw(wq0 + 10 * dim + c), q[9, c].item<float>());
            Assert.Equal(Raw(wq0 + 9 * dim + c), q[12, c].item<float>()); // local row 4 = first odd row (1)
        }
    }

    [Fact]
    public void Llama2cConverter_UnsharedLegacyClassifier_WritesLmHeadFromLastArray()
    {
        using var scope = torch.NewDisposeScope();
        using var dir = new TempDir();
        // dim 8, hidden 12, 1 layer, 2 heads, 1 kv head, vocab 512 (tok512's; negative: own classifier), seq_len 4.
        const int Embed = 512 * 8;   // floats before the first layer
        int[] config = [8, 12, 1, 2, 1, -512, 4];
        long floats = Embed + (2 * 8 + 2 * 64 + 2 * 4 * 8 + 3 * 12 * 8) + 8 + 4 * 4 + Embed;
        string bin = dir.File("tiny.bin");
        WriteLegacy(bin, config, floats);

        Llama2cConverter.Convert(bin, Fixtures.Require(Tokenizer), dir.File("out"));

        var w = ShardedCheckpoint.LoadFolder(dir.File("out"));
        // Each float holds its own index in the file, so every tensor's first value says where it came from.
        Assert.Equal(0f, w["model.embed_tokens.weight"][0, 0].item<float>());
        Assert.Equal(Embed + 0f, w["model.layers.0.input_layernorm.weight"][0].item<float>());
        Assert.Equal(Embed + 8f, w["model.layers.0.self_attn.q_proj.weight"][0, 0].item<float>());
        Assert.Equal(Embed + 72f, w["model.layers.0.self_attn.k_proj.weight"][0, 0].item<float>());
        Assert.Equal(Embed + 104f, w["model.layers.0.self_attn.v_proj.weight"][0, 0].item<float>());
        Assert.Equal(Embed + 136f, w["model.layers.0.self_attn.o_proj.weight"][0, 0].item<float>());
        Assert.Equal(Embed + 200f, w["model.layers.0.post_attention_layernorm.weight"][0].item<float>());
        Assert.Equal(Embed + 208f, w["model.layers.0.mlp.gate_proj.weight"][0, 0].item<float>());
        Assert.Equal(Embed + 304f, w["model.layers.0.mlp.down_proj.weight"][0, 0].item<float>());
        Assert.Equal(Embed + 400f, w["model.layers.0.mlp.up_proj.weight"][0, 0].item<float>());
        Assert.Equal(Embed + 496f, w["model.norm.weight"][0].item<float>());
        Assert.Equal(Embed + 520f, w["lm_head.weight"][0, 0].item<float>()); // after 16 floats of RoPE tables
        Assert.Equal([512L, 8L], w["lm_head.weight"].shape);
        Assert.False(ModelConfig.Load(dir.File("out/config.json")).TieWordEmbeddings);
    }

    [Fact]
    public void Llama2cConverter_TruncatedFile_ThrowsInvalidData()
    {
        string legacy = Fixtures.Require(LegacyBin), tok = Fixtures.Require(Tokenizer);
        using var dir = new TempDir();
        byte[] raw = File.ReadAllBytes(legacy);
        File.WriteAllBytes(dir.File("cut.bin"), raw.AsSpan(0, raw.Length - 100).ToArray());

        var e = Assert.Throws<InvalidDataException>(() => Llama2cConverter.Convert(dir.File("cut.bin"), tok, dir.File("out")));

        Assert.Contains("truncated", e.Message);
        Assert.Contains("cut.bin", e.Message);
        Assert.False(Directory.Exists(dir.File("out")));
    }

    [Fact]
    public void Llama2cConverter_NotALlama2cFile_ThrowsInvalidData()
    {
        string tok = Fixtures.Require(Tokenizer);
        using var dir = new TempDir();

        // A SentencePiece model is a protobuf: its first ints make no llama2.c config.
        var e = Assert.Throws<InvalidDataException>(() => Llama2cConverter.Convert(tok, tok, dir.File("out")));

        Assert.Contains("tok512.model", e.Message);
    }

    [Fact]
    public void Llama2cConverter_Llama2cTokenizerBinInsteadOfModel_SaysItIsNotSentencePieceAndWritesNothing()
    {
        string bin = Fixtures.Require(LegacyBin), tokBin = Fixtures.Require("stories260k/tok512.bin");
        using var dir = new TempDir();

        var e = Assert.Throws<InvalidDataException>(() => Llama2cConverter.Convert(bin, tokBin, dir.File("out")));

        Assert.StartsWith($"'{tokBin}' is not a SentencePiece model", e.Message);
        Assert.False(Directory.Exists(dir.File("out")));
    }

    [Fact]
    public void Llama2cConverter_AnotherModelsTokenizer_NamesBothVocabularySizes()
    {
        string bin = Fixtures.Require(LegacyBin), llama2 = Fixtures.Require("llama2-tokenizer/tokenizer.model");
        using var dir = new TempDir();

        var e = Assert.Throws<InvalidDataException>(() => Llama2cConverter.Convert(bin, llama2, dir.File("out")));

        Assert.Contains("has 32000 pieces", e.Message);
        Assert.Contains("vocabulary of 512", e.Message);
        Assert.False(Directory.Exists(dir.File("out")));
    }

    [Fact]
    public void Llama2cConverter_V1FileWithVersion2_ThrowsInvalidData()
    {
        string v1 = Fixtures.Require(V1Bin), tok = Fixtures.Require(Tokenizer);
        using var dir = new TempDir();
        byte[] raw = File.ReadAllBytes(v1);
        BinaryPrimitives.WriteInt32LittleEndian(raw.AsSpan(4), 2);
        File.WriteAllBytes(dir.File("q8.bin"), raw);

        var e = Assert.Throws<InvalidDataException>(() => Llama2cConverter.Convert(dir.File("q8.bin"), tok, dir.File("out")));

        Assert.Contains("version 2", e.Message);
    }

    static void WriteLegacy(string path, int[] config, long floats)
    {
        var raw = new byte[28 + 4 * floats];
        for (int i = 0; i < 7; i++) BinaryPrimitives.WriteInt32LittleEndian(raw.AsSpan(4 * i), config[i]);
        for (long i = 0; i < floats; i++) BinaryPrimitives.WriteSingleLittleEndian(raw.AsSpan((int)(28 + 4 * i)), i);
        File.WriteAllBytes(path, raw);
    }
}
