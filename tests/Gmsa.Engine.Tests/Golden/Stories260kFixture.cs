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

    public void Dispose() => dir.Dispose();
}
