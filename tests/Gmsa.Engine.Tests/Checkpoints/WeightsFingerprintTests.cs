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

    /// <summary>The fingerprints of a folder as <see cref="Write"/> makes it and of one that <paramref name="second"/> makes.</summary>
    static (string First, string Second) Pair(Action<string> second, Func<string, string>? of = null)
    {
        of ??= Of;
        using var a = new TempDir();
        using var b = new TempDir();
        Write(a.Path);
        second(b.Path);
        return (of(a.Path), of(b.Path));
    }

    [Fact]
    public void Of_SameFilesInAnotherFolder_IsEqual()
    {
        var (first, second) = Pair(p => Write(p));

        Assert.Equal(first, second);
        Assert.Matches("^[0-9a-f]{32}$", first);
    }

    [Fact]
    public void Of_CardAndMetricsChanged_IsEqual()
    {
        var (first, second) = Pair(p => Write(p, card: "# a rewritten card, longer than the first"));

        Assert.Equal(first, second);
    }

    [Fact]
    public void Of_OneWeightByteChanged_Differs()
    {
        var (first, second) = Pair(p => Write(p, weightByte: 3));

        Assert.NotEqual(first, second);
    }

    [Fact]
    public void Of_AdapterNestedInTheCompressorChanged_Differs()
    {
        var (first, second) = Pair(p => Write(p, adapterByte: 9));
        // The model folder alone, not recursive, does not see the compressor's files.
        var (modelFirst, modelSecond) = Pair(p => Write(p, adapterByte: 9), of: p => WeightsFingerprint.Of((p, false)));

        Assert.NotEqual(first, second);
        Assert.Equal(modelFirst, modelSecond);
    }

    [Fact]
    public void Of_FileRenamed_Differs()
    {
        var (first, second) = Pair(p =>
        {
            Write(p);
            File.Move(Path.Combine(p, "tokenizer.model"), Path.Combine(p, "tokenizer.json"));
        });

        Assert.NotEqual(first, second);
    }
}
