namespace Gmsa.Engine.Training;

/// <summary>
/// Copy-heavy pretraining data: a share of the training windows is rewritten as passages each
/// followed by itself (P1 P1 P2 P2 ...), cut from the window's own text. The second copy of a
/// passage is predictable only by looking back at the first, so the model learns to find and
/// continue earlier text (induction), which is what a GMSA decoder does when it restates a context
/// from soft tokens. A base pretrained on plain text for a few million tokens never learns it.
/// Which windows repeat and where the passages end follow from (seed, epoch, index), so a resumed
/// run sees the same data as an uninterrupted one.
/// </summary>
public sealed record RepeatedPassages
{
    /// <summary>Share of training windows rewritten as repeated passages (0 = plain text only).</summary>
    public double Fraction { get; init; }
    /// <summary>Shortest passage in tokens.</summary>
    public int MinTokens { get; init; } = 16;
    /// <summary>Longest passage in tokens.</summary>
    public int MaxTokens { get; init; } = 256;

    public void Validate()
    {
        if (Fraction is < 0 or > 1 || double.IsNaN(Fraction))
            throw new InvalidDataException($"repeated_passages.fraction must lie in 0..1, got {Fraction}");
        if (MinTokens < 1 || MaxTokens < MinTokens)
            throw new InvalidDataException($"repeated_passages needs 1 <= min_tokens <= max_tokens, got {MinTokens} and {MaxTokens}");
    }

    /// <summary>
    /// Rewrites <paramref name="window"/> in place when <paramref name="random"/> draws it: consecutive
    /// passages of the window's text, each written twice, until the window is full (the last copy may
    /// be cut). Returns whether the window was rewritten.
    /// </summary>
    public bool Apply(Span<long> window, Random random)
    {
        if (Fraction == 0 || random.NextDouble() >= Fraction) return false;
        var source = window.ToArray();
        int read = 0, written = 0;
        while (written < window.Length)
        {
            int length = random.Next(MinTokens, MaxTokens + 1);
            var passage = source.AsSpan(read, Math.Min(length, source.Length - read));
            read += passage.Length;
            for (int copy = 0; copy < 2 && written < window.Length; copy++)
            {
                int n = Math.Min(passage.Length, window.Length - written);
                passage[..n].CopyTo(window[written..]);
                written += n;
            }
        }
        return true;
    }
}
