namespace Gmsa.Engine.Evaluation;

/// <summary>
/// Sentence-level BLEU-4 against one reference, as NLTK's
/// <c>sentence_bleu([reference], hypothesis, smoothing_function=SmoothingFunction().method1)</c> computes it:
/// the geometric mean (weights 1/4) of the clipped n-gram precisions for n = 1..4, times the brevity penalty
/// exp(1 - r/c) when the hypothesis (c tokens) is shorter than the reference (r tokens).
/// </summary>
/// <remarks>
/// Smoothing (method1): an order with no clipped match has precision <see cref="Epsilon"/> / (its hypothesis
/// n-gram count), so one missing 4-gram does not zero the whole score. As in NLTK the count is at least 1,
/// so a hypothesis shorter than n tokens (no n-grams at all) gets precision 0.1 for that order: identical
/// three-token sentences score 0.1^(1/4) ~ 0.562, not 1. Also as in NLTK, no unigram match at all (and so an
/// empty hypothesis) scores 0 before any smoothing.
/// </remarks>
public static class Bleu
{
    public const int MaxOrder = 4;

    /// <summary>NLTK's default <c>SmoothingFunction(epsilon=0.1)</c>.</summary>
    public const double Epsilon = 0.1;

    /// <returns>BLEU-4 in 0..1</returns>
    public static double Sentence(IReadOnlyList<string> reference, IReadOnlyList<string> hypothesis)
    {
        if (hypothesis.Count == 0) return 0;
        double logSum = 0;
        for (int n = 1; n <= MaxOrder; n++)
        {
            var (matches, total) = ClippedMatches(reference, hypothesis, n);
            if (n == 1 && matches == 0) return 0;
            double precision = matches == 0 ? Epsilon / Math.Max(1, total) : (double)matches / total;
            logSum += Math.Log(precision) / MaxOrder;
        }
        return BrevityPenalty(reference.Count, hypothesis.Count) * Math.Exp(logSum);
    }

    /// <summary>
    /// BLEU-4 of two texts tokenised by splitting on whitespace: any run of Unicode whitespace separates words
    /// (Python's <c>str.split()</c>), case is kept ("The" and "the" differ) and punctuation stays attached to
    /// its word ("mat." and "mat" differ). No other normalisation.
    /// </summary>
    public static double Words(string reference, string hypothesis) =>
        Sentence(WhitespaceTokens.Split(reference), WhitespaceTokens.Split(hypothesis));

    /// <summary>exp(1 - r/c) when c &lt; r, else 1; 0 for an empty hypothesis.</summary>
    public static double BrevityPenalty(int referenceLength, int hypothesisLength) =>
        hypothesisLength > referenceLength ? 1
        : hypothesisLength == 0 ? 0
        : Math.Exp(1 - (double)referenceLength / hypothesisLength);

    /// <returns>hypothesis n-grams that the reference also has, each counted at most as often as the reference has it; all hypothesis n-grams</returns>
    static (int Matches, int Total) ClippedMatches(IReadOnlyList<string> reference, IReadOnlyList<string> hypothesis, int n)
    {
        var available = Counts(reference, n);
        int matches = 0, total = 0;
        foreach (var (ngram, count) in Counts(hypothesis, n))
        {
            matches += Math.Min(count, available.GetValueOrDefault(ngram));
            total += count;
        }
        return (matches, total);
    }

    static Dictionary<string[], int> Counts(IReadOnlyList<string> tokens, int n)
    {
        var counts = new Dictionary<string[], int>(NGramComparer.Instance);
        for (int start = 0; start + n <= tokens.Count; start++)
        {
            var ngram = Enumerable.Range(start, n).Select(i => tokens[i]).ToArray();
            counts[ngram] = counts.GetValueOrDefault(ngram) + 1;
        }
        return counts;
    }

    // N-grams compared word by word (ordinal), not as joined strings, so no separator can make two different ones collide.
    sealed class NGramComparer : IEqualityComparer<string[]>
    {
        public static readonly NGramComparer Instance = new();

        public bool Equals(string[]? x, string[]? y) =>
            ReferenceEquals(x, y) || (x is not null && y is not null && x.SequenceEqual(y, StringComparer.Ordinal));

        public int GetHashCode(string[] ngram)
        {
            var hash = new HashCode();
            foreach (var word in ngram) hash.Add(word, StringComparer.Ordinal);
            return hash.ToHashCode();
        }
    }
}
