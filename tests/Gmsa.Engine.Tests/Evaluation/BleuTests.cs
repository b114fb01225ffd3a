using Gmsa.Engine.Evaluation;

namespace Gmsa.Engine.Tests.Evaluation;

/// <summary>BLEU-4 with NLTK's method1 smoothing against hand-computed values.</summary>
public sealed class BleuTests
{
    static string[] Split(string text) => text.Split(' ');

    [Fact]
    public void Sentence_IdenticalSentences_ScoresOne() =>
        Assert.Equal(1.0, Bleu.Sentence(Split("the cat sat on the mat"), Split("the cat sat on the mat")), 12);

    [Fact]
    public void Sentence_PartialOverlap_MatchesHandComputedValue()
    {
        // reference: the cat sat on the mat; hypothesis: the cat sat on a mat (c = r = 6, so BP = 1)
        // p1 = 5/6  (the, cat, sat, on, mat; not a)
        // p2 = 3/5  (the cat, cat sat, sat on; not on a, a mat)
        // p3 = 2/4  (the cat sat, cat sat on)
        // p4 = 1/3  (the cat sat on)
        // BLEU = (5/6 x 3/5 x 2/4 x 1/3)^(1/4) = (30/360)^(1/4) = (1/12)^(1/4) ~ 0.5373
        double bleu = Bleu.Sentence(Split("the cat sat on the mat"), Split("the cat sat on a mat"));
        Assert.Equal(Math.Pow(1.0 / 12, 0.25), bleu, 12);
    }

    [Fact]
    public void Sentence_RepeatedWord_ClipsToReferenceCountAndSmoothsZeroOrders()
    {
        // 7 x "the" against a reference holding "the" twice: p1 = 2/7 (clipped), no bigram, trigram or 4-gram
        // matches, so method1 gives 0.1/6, 0.1/5, 0.1/4 (6, 5, 4 hypothesis n-grams); c = 7 > r = 6, BP = 1.
        double bleu = Bleu.Sentence(Split("the cat is on the mat"), Split("the the the the the the the"));
        Assert.Equal(Math.Pow(2.0 / 7 * (0.1 / 6) * (0.1 / 5) * (0.1 / 4), 0.25), bleu, 12);
    }

    [Fact]
    public void Sentence_ShorterHypothesis_AppliesBrevityPenalty()
    {
        // The hypothesis is the reference's first 4 words: every precision is 1 (one 4-gram, matched),
        // c = 4 < r = 8, BP = exp(1 - 8/4) = exp(-1).
        double bleu = Bleu.Sentence(Split("a b c d e f g h"), Split("a b c d"));
        Assert.Equal(Math.Exp(-1), bleu, 12);
    }

    [Fact]
    public void Sentence_HypothesisShorterThanFourTokens_SmoothsMissingOrders()
    {
        // "the cat": p1 = 2/2, p2 = 1/1, no trigram or 4-gram at all: 0.1 / max(1, 0) = 0.1 each (as NLTK);
        // BP = exp(1 - 6/2) = exp(-2). BLEU = exp(-2) x (1 x 1 x 0.1 x 0.1)^(1/4) = exp(-2) x 0.1^(1/2) ~ 0.0428
        double bleu = Bleu.Sentence(Split("the cat sat on the mat"), Split("the cat"));
        Assert.Equal(Math.Exp(-2) * Math.Sqrt(0.1), bleu, 12);
    }

    [Fact]
    public void Sentence_IdenticalThreeTokens_FourGramOrderIsSmoothed() =>
        Assert.Equal(Math.Pow(0.1, 0.25), Bleu.Sentence(Split("a b c"), Split("a b c")), 12); // p4 = 0.1, the rest 1

    [Fact]
    public void Sentence_NoUnigramMatch_ScoresZero() =>
        Assert.Equal(0.0, Bleu.Sentence(Split("a b c d"), Split("w x y z")));

    [Fact]
    public void Sentence_EmptyHypothesis_ScoresZero() =>
        Assert.Equal(0.0, Bleu.Sentence(Split("a b c d"), []));

    [Fact]
    public void Words_DifferentCase_CountsAsDifferentWords()
    {
        // reference: The cat sat on the mat; hypothesis: the cat sat on the mat. "The" != "the":
        // p1 = 5/6 (the hypothesis' two "the" clip to the reference's one), p2 = 4/5 (not "the cat"),
        // p3 = 3/4 (not "the cat sat"), p4 = 2/3 (not "the cat sat on"); BLEU = (120/360)^(1/4) = (1/3)^(1/4)
        Assert.Equal(Math.Pow(1.0 / 3, 0.25), Bleu.Words("The cat sat on the mat", "the cat sat on the mat"), 12);
    }

    [Fact]
    public void Words_AnyWhitespaceRun_SeparatesWords() =>
        Assert.Equal(1.0, Bleu.Words("a b c d", " a\tb\n\nc  d "), 12);

    [Theory]
    [InlineData(6, 6, 1.0)]
    [InlineData(6, 7, 1.0)]
    [InlineData(8, 4, 0.36787944117144233)] // exp(1 - 8/4)
    [InlineData(5, 0, 0.0)]
    public void BrevityPenalty_Lengths_MatchesExpOneMinusRatio(int reference, int hypothesis, double expected) =>
        Assert.Equal(expected, Bleu.BrevityPenalty(reference, hypothesis), 12);
}
