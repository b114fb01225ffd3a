namespace Gmsa.Engine.Evaluation;

/// <summary>
/// Prefix exact match, GMSA's reconstruction metric for the autoencoder: how far the regenerated token ids
/// agree with the original before the first difference, as a share of the original. A single early slip
/// scores low however much of the rest is right, which BLEU would forgive.
/// </summary>
public static class PrefixMatch
{
    /// <returns>length of the longest common prefix / reference length, in 0..1 (extra hypothesis tokens after a full match cost nothing)</returns>
    /// <exception cref="ArgumentException">an empty reference, for which the share is undefined</exception>
    public static double Score(IReadOnlyList<int> reference, IReadOnlyList<int> hypothesis)
    {
        if (reference.Count == 0) throw new ArgumentException("the reference has no tokens; prefix match is undefined", nameof(reference));
        return (double)CommonPrefixLength(reference, hypothesis) / reference.Count;
    }

    public static int CommonPrefixLength(IReadOnlyList<int> a, IReadOnlyList<int> b)
    {
        int length = 0, limit = Math.Min(a.Count, b.Count);
        while (length < limit && a[length] == b[length]) length++;
        return length;
    }
}
