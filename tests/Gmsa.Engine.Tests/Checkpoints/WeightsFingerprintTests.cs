using Gmsa.Engine.Checkpoints;

namespace Gmsa.Engine.Tests.Checkpoints;

public sealed class WeightsFingerprintTests
{
    // A model folder with a compressor inside, as models/gmsa-tiny is laid out.
    static void Write(string root, byte weightByte = 1, byte adapterByte = 2, string card = "# card")
    {
        Directory.CreateDirectory(Path.Combine(root, "compressor", "encoder_adapter"));
        File.WriteAllBytes(Path.Combine(root, "model.safetensors"), [0, 0, 0, 0, 0, 0, 0, 2, (byte)'{', (byte)'}', weightByte]);
        File.WriteAllText(Path.Combine(root, "config.json"), """{"hidden_size": 8}""");
        File.WriteAllText(Path.Combine(root, "tokenizer.model"), "pieces");
        File.WriteAllText(Path.Combine(root, "README.md"), card);
        File.WriteAllBytes(Path.Combine(root, "compressor", "encoder_adapter", "adapter_model.safetensors"), [adapterByte, 7]);
        File.WriteAllText(Path.Combine(root, "compressor", "gmsa_config.json"), """{"rates": [4, 8]}""");
        File.WriteAllText(Path.Combine(root, "compressor", "metrics_finetune.csv"), "step,loss\n" + card.Length);
    }

    static string Of(string root) => WeightsFingerprint.Of((root, false), (Path.Combine(root, "compressor"), true));

    [Fact]
    public void Of_SameFilesInAnotherFolder_IsEqual()
    {
        using var a = new TempDir();
        using var b = new TempDir();
        Write(a.Path);
        Write(b.Path);

        Assert.Equal(Of(a.Path), Of(b.Path));
        Assert.Matches("^[0-9a-f]{32}$", Of(a.Path));
    }

    [Fact]
    public void Of_CardAndMetricsChanged_IsEqual()
    {
        using var a = new TempDir();
        using var b = new TempDir();
        Write(a.Path);
        Write(b.Path, card: "# a rewritten card, longer than the first");

        Assert.Equal(Of(a.Path), Of(b.Path));
    }

    [Fact]
    public void Of_OneWeightByteChanged_Differs()
    {
        using var a = new TempDir();
        using var b = new TempDir();
        Write(a.Path);
        Write(b.Path, weightByte: 3);

        Assert.NotEqual(Of(a.Path), Of(b.Path));
    }

    [Fact]
    public void Of_AdapterNestedInTheCompressorChanged_Differs()
    {
        using var a = new TempDir();
        using var b = new TempDir();
        Write(a.Path);
        Write(b.Path, adapterByte: 9);

        Assert.NotEqual(Of(a.Path), Of(b.Path));
        // The model folder alone, not recursive, does not see the compressor's files.
        Assert.Equal(WeightsFingerprint.Of((a.Path, false)), WeightsFingerprint.Of((b.Path, false)));
    }

    [Fact]
    public void Of_FileRenamed_Differs()
    {
        using var a = new TempDir();
        using var b = new TempDir();
        Write(a.Path);
        Write(b.Path);
        File.Move(Path.Combine(b.Path, "tokenizer.model"), Path.Combine(b.Path, "tokenizer.json"));

        Assert.NotEqual(Of(a.Path), Of(b.Path));
    }
}
