using System.Text.RegularExpressions;
using Gmsa.Engine.Corpus;
using Gmsa.Engine.Text;

namespace Gmsa.Engine.Tests.Corpus;

public class PasskeyTaskTests
{
    static readonly TextTokenizer Tokenizer = TextTokenizer.Load(RepoFiles.Path("models/gmsa-tiny"));

    /// <summary>Documents of plain sentences (no digits, so no key can hide in them), 1-6 sentences a paragraph.</summary>
    internal static List<CorpusDocument> Documents(int sentences, string source = "brown", int seed = 0)
    {
        string[] words = ["river", "hill", "town", "letter", "garden", "captain", "morning", "road", "ship", "window", "quiet", "old", "green", "walked", "saw", "the", "a", "near", "with"];
        var rng = new Random(seed);
        var paragraphs = new List<string>();
        for (int made = 0; made < sentences;)
        {
            int count = Math.Min(rng.Next(1, 7), sentences - made);
            paragraphs.Add(string.Join(" ", Enumerable.Range(0, count).Select(_ =>
            {
                string s = string.Join(" ", Enumerable.Range(0, rng.Next(5, 15)).Select(_ => words[rng.Next(words.Length)]));
                return char.ToUpperInvariant(s[0]) + s[1..] + ".";
            })));
            made += count;
        }
        return paragraphs.Chunk(20).Select((chunk, i) => new CorpusDocument($"{source}/{i}", source, $"doc {i}", string.Join("\n\n", chunk))).ToList();
    }

    static List<string[]> Filler(int sentences = 1500) => PasskeyTask.Paragraphs(Documents(sentences));

    [Fact]
    public void Make_Target512_HidesTheKeyOnceAsItsOwnParagraphAtTheReportedDepth()
    {
        PasskeyItem item = PasskeyTask.Make(Filler(), Tokenizer, 512, new Random(7));

        string needle = PasskeyTask.Needle(item.Key);
        Assert.Matches("^[1-9][0-9]{4}$", item.Key);
        Assert.Equal([item.Key], item.Qa.Answers);
        Assert.Equal(" Question: What is the pass key? Answer:", item.Qa.Prompt);
        Assert.Equal(2, Regex.Count(item.Qa.Input, item.Key));                    // twice, both in the one key sentence
        Assert.Single(item.Qa.Input.Split("\n\n"), p => p == needle);
        int before = Count(item.Qa.Input[..item.Qa.Input.IndexOf(needle, StringComparison.Ordinal)]);
        Assert.InRange((double)before / (item.Tokens - Count(needle)), item.Depth - 0.03, item.Depth + 0.03);
    }

    [Theory]
    [InlineData(256)]
    [InlineData(1024)]
    [InlineData(4096)]
    public void Make_TargetLength_ContextTokensWithinAFewOfIt(int target)
    {
        var rng = new Random(target);
        var filler = Filler();

        foreach (PasskeyItem item in Enumerable.Range(0, 5).Select(_ => PasskeyTask.Make(filler, Tokenizer, target, rng)))
        {
            Assert.Equal(Count(item.Qa.Input), item.Tokens);
            Assert.Equal(target, item.TargetTokens);
            Assert.InRange(item.Tokens, target - 8, target + 8);
        }
    }

    [Fact]
    public void Make_DepthsAcrossItems_CoverTheWholeContext()
    {
        var rng = new Random(3);
        var filler = Filler();

        var depths = Enumerable.Range(0, 30).Select(_ => PasskeyTask.Make(filler, Tokenizer, 256, rng).Depth).ToList();

        Assert.Contains(depths, d => d < 0.25);
        Assert.Contains(depths, d => d > 0.75);
        Assert.All(depths, d => Assert.InRange(d, 0.0, 1.0));
    }

    [Fact]
    public void TestSet_Seed_FixesEveryItem()
    {
        var filler = Filler(2500);

        var first = PasskeyTask.TestSet(filler, Tokenizer, perLength: 1, seed: 5);
        var again = PasskeyTask.TestSet(filler, Tokenizer, perLength: 1, seed: 5);
        var other = PasskeyTask.TestSet(filler, Tokenizer, perLength: 1, seed: 6);

        Assert.Equal(PasskeyTask.TestLengths, first.Select(i => i.TargetTokens));
        Assert.Equal(first.Select(i => (i.Qa.Input, i.Key, i.Tokens, i.Depth)), again.Select(i => (i.Qa.Input, i.Key, i.Tokens, i.Depth)));
        Assert.NotEqual(first.Select(i => i.Key), other.Select(i => i.Key));
    }

    [Fact]
    public void TrainSet_Lengths_StayInTheTrainingRange()
    {
        var items = PasskeyTask.TrainSet(Filler(), Tokenizer, count: 40, seed: 1);

        Assert.Equal(40, items.Count);
        Assert.All(items, i => Assert.InRange(i.TargetTokens, PasskeyTask.TrainMinTokens, PasskeyTask.TrainMaxTokens));
        Assert.All(items, i => Assert.InRange(i.Tokens, i.TargetTokens - 8, i.TargetTokens + 8));
        Assert.True(items.Select(i => i.TargetTokens).Distinct().Count() > 20);
    }

    [Fact]
    public void Make_FillerShorterThanTarget_ThrowsNamingBothSizes()
    {
        var e = Assert.Throws<InvalidDataException>(() => PasskeyTask.Make(Filler(20), Tokenizer, 8192, new Random(1)));

        Assert.Contains("fewer than the", e.Message);
    }

    [Fact]
    public void Paragraphs_WordNetAndSentenceEnds_GlossesLeftOutAbbreviationsKept()
    {
        CorpusDocument[] docs =
        [
            new("brown/a", "brown", "a", "Mr. Smith came home. \"Is it late?\" she asked. Yes.\n\nA second paragraph"),
            new("wordnet/1", "wordnet", "glosses", "dog (also domestic dog): a member of the genus Canis. cat: a feline."),
        ];

        var paragraphs = PasskeyTask.Paragraphs(docs);

        Assert.Equal(2, paragraphs.Count);
        Assert.Equal(["Mr. Smith came home.", "\"Is it late?\" she asked.", "Yes."], paragraphs[0]);
        Assert.Equal(["A second paragraph"], paragraphs[1]);
    }

    static int Count(string text) => Tokenizer.Encode(text, addBos: false).Count;
}
