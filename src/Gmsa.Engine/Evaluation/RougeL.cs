namespace Gmsa.Engine.Evaluation;

/// <summary>
/// ROUGE-L F1 on lower-cased whitespace words: with LCS the length of the longest common subsequence,
/// P = LCS / |hypothesis|, R = LCS / |reference|, F = 2PR / (P + R). Words are split as Python's
/// <c>str.split()</c> splits them and lower-cased (invariant culture); punctuation stays attached, so this is
/// not the rouge-score package's tokeniser, which also drops non-alphanumerics.
/// </summary>
public static class RougeL
{
    /// <returns>F1 in 0..1; 0 when either text has no words or they share none</returns>
    public static double F1(string reference, string hypothesis)
    {
        var referenceWords = Words(reference);
        var hypothesisWords = Words(hypothesis);
        int lcs = LongestCommonSubsequence(referenceWords, hypothesisWords);
        if (lcs == 0) return 0;
        double precision = (double)lcs / hypothesisWords.Length, recall = (double)lcs / referenceWords.Length;
        return 2 * precision * recall / (precision + recall);
    }

    /// <summary>Dynamic programme over prefixes, one row kept: O(|a| |b|) time, O(|b|) memory.</summary>
    public static int LongestCommonSubsequence(IReadOnlyList<string> a, IReadOnlyList<string> b)
    {
        var previous = new int[b.Count + 1]; // previous[j] = LCS(a[..i-1], b[..j])
        var current = new int[b.Count + 1];
        for (int i = 1; i <= a.Count; i++)
        {
            for (int j = 1; j <= b.Count; j++)
                current[j] = string.Equals(a[i - 1], b[j - 1], StringComparison.Ordinal)
                    ? previous[j - 1] + 1
                    : Math.Max(previous[j], current[j - 1]);
            (previous, current) = (current, previous);
        }
        return previous[b.Count];
    }

    static string[] Words(string text) => WhitespaceTokens.Split(text.ToLowerInvariant());
}
