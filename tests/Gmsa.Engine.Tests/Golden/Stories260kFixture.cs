using Gmsa.Engine.Checkpoints;

namespace Gmsa.Engine.Tests.Golden;

/// <summary>stories260K converted once per test run into a Hugging Face folder (fixtures stay in ../shared).</summary>
public sealed class Stories260kFixture : IDisposable
{
    readonly TempDir dir = new();

    public Stories260kFixture()
    {
        var bin = Fixtures.Find("stories260k/stories260K.bin");
        var tok = Fixtures.Find("stories260k/tok512.model");
        if (bin is null || tok is null) return;
        Llama2cConverter.Convert(bin, tok, dir.Path);
        ModelDir = dir.Path;
    }

    /// <summary>The converted folder, or null when ../shared/fixtures is absent.</summary>
    public string? ModelDir { get; }

    public string Require() =>
        ModelDir ?? throw new InvalidOperationException(Fixtures.Require("stories260k/stories260K.bin")); // Require skips

    /// <summary>Blocks of llama2.c's greedy_reference.txt: "## greedy, ... -n STEPS" headers followed by text.</summary>
    public static Dictionary<string, (int Steps, string Text)> ReadGreedyReference()
    {
        var lines = File.ReadAllLines(Fixtures.Require("stories260k/greedy_reference.txt"));
        var blocks = new Dictionary<string, (int, string)>();
        for (int i = 0; i < lines.Length; i++)
        {
            if (!lines[i].StartsWith("## ")) continue;
            int steps = int.Parse(lines[i][(lines[i].LastIndexOf("-n ") + 3)..].Trim());
            var text = lines.Skip(i + 1).TakeWhile(l => !l.StartsWith("## ")).ToList();
            while (text.Count > 0 && text[^1].Length == 0) text.RemoveAt(text.Count - 1);
            blocks[lines[i]] = (steps, string.Join("\n", text));
        }
        return blocks;
    }

    public void Dispose() => dir.Dispose();
}
