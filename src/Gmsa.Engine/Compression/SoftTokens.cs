using static TorchSharp.torch;

namespace Gmsa.Engine.Compression;

/// <summary>
/// One compressed context: its soft tokens [n, D] in the decoder's input-embedding space (detached, on the
/// model's device, owned by this record), how many text tokens they stand for and at which rate.
/// </summary>
public sealed record SoftTokens(Tensor Embeddings, int ContextTokens, int Rate) : IDisposable
{
    public int Count => (int)Embeddings.shape[0];
    public int Dimension => (int)Embeddings.shape[1];
    /// <summary>Context tokens per soft token (L / n).</summary>
    public double Ratio => (double)ContextTokens / Count;

    /// <summary>Several contexts read as one, in order (as /v1/answer reads its contexts); the caller owns the result.</summary>
    public static SoftTokens Concatenate(IReadOnlyList<SoftTokens> parts) =>
        new(cat(parts.Select(p => p.Embeddings).ToArray(), 0), parts.Sum(p => p.ContextTokens), parts[0].Rate);

    public void Dispose() => Embeddings.Dispose();
}
