using System.Text;
using System.Text.RegularExpressions;

namespace Gmsa.Engine.Evaluation;

/// <summary>
/// Exact match and token F1 of the SQuAD v1.1 evaluation script (<c>evaluate-v1.1.py</c>), each answer
/// normalised first and a prediction scored as its best over the gold answers. Normalisation, in the script's
/// order: lower-case, delete ASCII punctuation (Python's <c>string.punctuation</c>; "Eiffel-Tower" becomes
/// "eiffeltower"), replace the whole words a / an / the by a space, collapse whitespace.
/// </summary>
public static partial class SquadMetrics
{
    /// <summary>The script's normalize_answer.</summary>
    public static string Normalize(string answer)
    {
        var lower = answer.ToLowerInvariant();
        var withoutPunctuation = new StringBuilder(lower.Length);
        foreach (char c in lower)
            if (!IsAsciiPunctuation(c)) withoutPunctuation.Append(c);
        var withoutArticles = Articles().Replace(withoutPunctuation.ToString(), " ");
        return string.Join(' ', WhitespaceTokens.Split(withoutArticles));
    }

    /// <returns>1 when the normalised answers are equal, else 0 (two answers that normalise to nothing are equal)</returns>
    public static double ExactMatch(string gold, string prediction) =>
        Normalize(gold) == Normalize(prediction) ? 1 : 0;

    /// <summary>F1 of the normalised words as bags: a word shared k times counts min(k in gold, k in prediction).</summary>
    /// <returns>F1 in 0..1; 0 when nothing is shared (an empty side included)</returns>
    public static double F1(string gold, string prediction)
    {
        var goldWords = WhitespaceTokens.Split(Normalize(gold));
        var predictionWords = WhitespaceTokens.Split(Normalize(prediction));
        var goldCounts = goldWords.CountBy(w => w, StringComparer.Ordinal).ToDictionary(StringComparer.Ordinal);
        int shared = predictionWords.CountBy(w => w, StringComparer.Ordinal)
            .Sum(kv => Math.Min(kv.Value, goldCounts.GetValueOrDefault(kv.Key)));
        if (shared == 0) return 0;
        double precision = (double)shared / predictionWords.Length, recall = (double)shared / goldWords.Length;
        return 2 * precision * recall / (precision + recall);
    }

    /// <summary>The best exact match over the gold answers (the script's metric_max_over_ground_truths).</summary>
    public static double ExactMatch(IReadOnlyList<string> golds, string prediction) => Best(golds, gold => ExactMatch(gold, prediction));

    /// <summary>The best F1 over the gold answers.</summary>
    public static double F1(IReadOnlyList<string> golds, string prediction) => Best(golds, gold => F1(gold, prediction));

    static double Best(IReadOnlyList<string> golds, Func<string, double> score)
    {
        if (golds.Count == 0) throw new ArgumentException("need at least one gold answer", nameof(golds));
        return golds.Max(score);
    }

    // string.punctuation: !"#$%&'()*+,-./:;<=>?@[\]^_`{|}~ (the four ASCII ranges of symbols around the letters and digits).
    static bool IsAsciiPunctuation(char c) => c is (>= '!' and <= '/') or (>= ':' and <= '@') or (>= '[' and <= '`') or (>= '{' and <= '~');

    [GeneratedRegex(@"\b(a|an|the)\b")]
    private static partial Regex Articles();
}
