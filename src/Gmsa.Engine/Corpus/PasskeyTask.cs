using System.Text.RegularExpressions;
using Gmsa.Engine.Compression;
using Gmsa.Engine.Text;

namespace Gmsa.Engine.Corpus;

/// <summary>A passkey item with what its evaluation is reported by: the target and actual context tokens, the key's depth.</summary>
/// <param name="Depth">Filler tokens before the key sentence over all filler tokens: 0 first, 1 last.</param>
public sealed record PasskeyItem(QaItem Qa, string Key, int TargetTokens, int Tokens, double Depth);

/// <summary>
/// Passkey retrieval (Mohtashami and Jaggi, 2023) over natural text: consecutive paragraphs of a corpus
/// split, with "The pass key is NNNNN. Remember it. NNNNN is the pass key." as its own paragraph at a
/// random depth, and the question "What is the pass key?". Lengths are context tokens of the model's
/// tokenizer (no BOS, as <see cref="QaJsonl.Examples"/> encodes the input); the filler is the run of whole
/// sentences nearest the target, and the key goes in at a sentence boundary: a King James chapter is one
/// ~650-word paragraph, so paragraph boundaries alone would pin a short item's key to an end.
/// </summary>
public static partial class PasskeyTask
{
    public const string Prompt = " Question: What is the pass key? Answer:";
    public static readonly IReadOnlyList<int> TestLengths = [256, 512, 1024, 2048, 4096, 8192];
    public const int TrainMinTokens = 64, TrainMaxTokens = 256;
    /// <summary>Windows may start at any of the first this many sentences; a miss of up to Tolerance tokens needs no later start.</summary>
    const int StartChoices = 48, Tolerance = 2;

    /// <summary>WordNet documents are one ~4,000-word run of glosses, a dictionary rather than running text.</summary>
    public static readonly IReadOnlyList<string> ExcludedSources = [WordNetReader.Source];

    public static string Needle(string key) => $"The pass key is {key}. Remember it. {key} is the pass key.";

    /// <summary>The filler: every paragraph of the documents, in order, each as its sentences.</summary>
    public static List<string[]> Paragraphs(IEnumerable<CorpusDocument> documents) =>
        documents.Where(d => !ExcludedSources.Contains(d.Source))
            .SelectMany(d => d.Text.Split("\n\n", StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            .Select(p => SentenceBreak().Split(p).Where(s => s.Length > 0).ToArray())
            .Where(s => s.Length > 0)
            .ToList();

    /// <summary><paramref name="perLength"/> items for each of <see cref="TestLengths"/>, in length order.</summary>
    public static List<PasskeyItem> TestSet(IReadOnlyList<string[]> paragraphs, TextTokenizer tokenizer, int perLength, int seed)
    {
        var rng = new Random(seed);
        return TestLengths.SelectMany(length => Enumerable.Range(0, perLength).Select(_ => Make(paragraphs, tokenizer, length, rng))).ToList();
    }

    /// <summary>
    /// <paramref name="count"/> items, lengths uniform in [<paramref name="minTokens"/>, <paramref name="maxTokens"/>]
    /// (default: short ones, <see cref="TrainMinTokens"/> to <see cref="TrainMaxTokens"/>).
    /// </summary>
    public static List<PasskeyItem> TrainSet(IReadOnlyList<string[]> paragraphs, TextTokenizer tokenizer, int count, int seed,
        int minTokens = TrainMinTokens, int maxTokens = TrainMaxTokens)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => Make(paragraphs, tokenizer, rng.Next(minTokens, maxTokens + 1), rng)).ToList();
    }

    /// <summary>One item of about <paramref name="targetTokens"/> context tokens, filler from a random paragraph on.</summary>
    public static PasskeyItem Make(IReadOnlyList<string[]> paragraphs, TextTokenizer tokenizer, int targetTokens, Random rng)
    {
        if (paragraphs.Count == 0) throw new InvalidDataException("the passkey filler has no paragraphs");
        int start = rng.Next(paragraphs.Count);
        double depth = rng.NextDouble();
        string key = DrawKey(rng);
        int needleTokens = Count(tokenizer, Needle(key));
        if (targetTokens <= needleTokens)
            throw new ArgumentOutOfRangeException($"a passkey item of {targetTokens} tokens is no longer than its key sentence ({needleTokens} tokens)", innerException: null);

        // Sentences from the start paragraph on (wrapping once), enough for a window of the budget from any of the first StartChoices.
        // A paragraph break costs tokens of its own ("\n\n" is not a space to the tokenizer): counted with the sentence after it.
        int breakTokens = Math.Max(0, Count(tokenizer, "A.\n\nB.") - Count(tokenizer, "A. B."));
        int budget = targetTokens - needleTokens - 2 * breakTokens;
        var sentences = new List<Sentence>();
        var ends = new List<int> { 0 };                                    // ends[k]: estimated tokens of the first k sentences
        bool Enough() => ends[^1] >= budget + ends[Math.Min(StartChoices, sentences.Count)];
        for (int p = 0; p < paragraphs.Count && !Enough(); p++)
        {
            string[] paragraph = paragraphs[(start + p) % paragraphs.Count];
            for (int i = 0; i < paragraph.Length && !Enough(); i++)
            {
                sentences.Add(new Sentence(p, paragraph[i], i == 0));
                ends.Add(ends[^1] + Count(tokenizer, paragraph[i]) + (i == 0 ? breakTokens : 0));
            }
        }
        if (ends[^1] < budget)
            throw new InvalidDataException($"the passkey filler holds about {ends[^1]} tokens, fewer than the {budget} an item of {targetTokens} needs");

        // Sentence counts add up only approximately (paragraph breaks, merges at joins): measure, and aim once more with the error taken off.
        var (from, to) = Window(sentences, ends, budget);
        int at = Nearest(ends, ends[from] + depth * (ends[to] - ends[from]), from, to);
        while (sentences.Skip(from).Take(to - from).Any(s => s.Text.Contains(key, StringComparison.Ordinal)))
            key = DrawKey(rng);                                            // the key must be the only NNNNN in the context
        string text = Compose(sentences, from, to, at, key);
        int tokens = Count(tokenizer, text);
        if (Math.Abs(tokens - targetTokens) > Tolerance)
        {
            int error = tokens - (ends[to] - ends[from] + needleTokens + 2 * breakTokens);
            var (from2, to2) = Window(sentences, ends, budget - error);
            int at2 = Nearest(ends, ends[from2] + depth * (ends[to2] - ends[from2]), from2, to2);
            if (!sentences.Skip(from2).Take(to2 - from2).Any(s => s.Text.Contains(key, StringComparison.Ordinal)))
            {
                string text2 = Compose(sentences, from2, to2, at2, key);
                int tokens2 = Count(tokenizer, text2);
                if (Math.Abs(tokens2 - targetTokens) < Math.Abs(tokens - targetTokens))
                    (from, to, at, text, tokens) = (from2, to2, at2, text2, tokens2);
            }
        }
        double actualDepth = ends[to] == ends[from] ? 0 : (double)(ends[at] - ends[from]) / (ends[to] - ends[from]);
        return new PasskeyItem(new QaItem(text, Prompt, [key]), key, targetTokens, tokens, Math.Round(actualDepth, 4));
    }

    readonly record struct Sentence(int Paragraph, string Text, bool StartsParagraph);

    /// <summary>
    /// The run of sentences [from, to) whose estimated tokens are nearest <paramref name="budget"/>, starting at one of the
    /// first <see cref="StartChoices"/> sentences: at a paragraph start when one comes within <see cref="Tolerance"/>,
    /// else anywhere. One start alone would miss by half a sentence, and sentences of 50-100 tokens are common.
    /// </summary>
    static (int From, int To) Window(List<Sentence> sentences, List<int> ends, int budget)
    {
        (int From, int To, int Miss) best = (0, 0, int.MaxValue);
        foreach (bool paragraphStartsOnly in new[] { true, false })
        {
            for (int from = 0; from < Math.Min(StartChoices, sentences.Count); from++)
            {
                if (paragraphStartsOnly && !sentences[from].StartsParagraph) continue;
                int to = Nearest(ends, ends[from] + budget, from + 1, ends.Count - 1);
                int miss = Math.Abs(ends[to] - ends[from] - budget);
                if (miss < best.Miss) best = (from, to, miss);
            }
            if (best.Miss <= Tolerance) break;
        }
        return (best.From, best.To);
    }

    /// <summary>Sentences [from, to) as paragraphs, the needle its own paragraph before sentence <paramref name="at"/>.</summary>
    static string Compose(List<Sentence> sentences, int from, int to, int at, string key)
    {
        var paragraphs = new List<List<string>>();
        int current = -1;
        for (int i = from; i <= to; i++)
        {
            if (i == at)
            {
                paragraphs.Add([Needle(key)]);
                current = -1;                                              // what follows starts a new paragraph
            }
            if (i == to) break;
            if (sentences[i].Paragraph != current) paragraphs.Add([]);
            current = sentences[i].Paragraph;
            paragraphs[^1].Add(sentences[i].Text);
        }
        return string.Join("\n\n", paragraphs.Select(p => string.Join(" ", p)));
    }

    /// <summary>The index in [from, to] whose value is nearest <paramref name="value"/>; ties go to the smaller index.</summary>
    static int Nearest(List<int> values, double value, int from, int to)
    {
        // values rise with the index: binary search for the first at or above value, then compare it with the one before.
        int lo = from, hi = to;
        while (lo < hi)
        {
            int mid = (lo + hi) / 2;
            if (values[mid] < value) lo = mid + 1;
            else hi = mid;
        }
        return lo > from && value - values[lo - 1] <= values[lo] - value ? lo - 1 : lo;
    }

    static string DrawKey(Random rng) => rng.Next(10_000, 100_000).ToString(System.Globalization.CultureInfo.InvariantCulture);

    static int Count(TextTokenizer tokenizer, string text) => tokenizer.Encode(text, addBos: false).Count;

    /// <summary>Between sentences: after . ! ? (and a closing quote or bracket), before a capital, digit or opening quote; not after Mr. and the like.</summary>
    [GeneratedRegex(@"(?<!\b(?:Mr|Mrs|Ms|Dr|St|Jr|Sr|Mt|No|vs|etc|Gen|Col|Capt|Rev)\.)(?<=[.!?][""'\u201D\u2019)\]]*)\s+(?=[""'\u201C\u2018(\[]*[A-Z0-9])")]
    private static partial Regex SentenceBreak();
}
