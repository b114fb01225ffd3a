using Gmsa.Engine.Training;

namespace Gmsa.Engine.Compression;

/// <summary>One training or evaluation example: a context to compress, what the decoder is asked, what it should say.</summary>
public sealed record CompressionExample(IReadOnlyList<int> Context, IReadOnlyList<int> Prompt, IReadOnlyList<int> Target);

/// <summary>A fixed, indexable set of examples (training data is served from it in a seeded order).</summary>
public interface IExampleSet
{
    int Count { get; }
    CompressionExample this[int index] { get; }
}

/// <summary>
/// Stage 1's examples: every context segment with the fixed instruction as prompt and the segment itself,
/// then EOS, as target.
/// </summary>
public sealed class AutoencoderExamples(ContextSegments segments, IReadOnlyList<int> prompt, int eosId) : IExampleSet
{
    public int Count => segments.Count;

    public CompressionExample this[int index]
    {
        get
        {
            var context = segments[index];
            return new CompressionExample(context, prompt, [.. context, eosId]);
        }
    }
}

/// <summary>Examples held in memory (question answering, passkey, a user's JSONL).</summary>
public sealed class ExampleList(IReadOnlyList<CompressionExample> examples) : IExampleSet
{
    public int Count => examples.Count;
    public CompressionExample this[int index] => examples[index];
}

/// <summary>
/// Serves examples in a seeded order reshuffled every epoch, with a compression rate per example drawn from
/// the rate list. Everything follows from (seed, epoch, index), so a resumed run replays the same examples at
/// the same rates.
/// </summary>
public sealed class ExampleOrder
{
    readonly IExampleSet examples;
    readonly IReadOnlyList<int> rates;
    readonly long seed;
    int[] order = [];

    public ExampleOrder(IExampleSet examples, IReadOnlyList<int> rates, long seed)
    {
        if (examples.Count == 0) throw new ArgumentException("no training examples");
        if (rates.Count == 0) throw new ArgumentException("no rates to draw from");
        this.examples = examples;
        this.rates = rates;
        this.seed = seed;
        Seek(new DataPosition(0, 0));
    }

    public DataPosition Position { get; private set; }

    public void Seek(DataPosition position)
    {
        if (position.Index < 0 || position.Index > examples.Count)
            throw new ArgumentOutOfRangeException(nameof(position), $"index {position.Index} is outside an epoch of {examples.Count} examples");
        var rng = new Random(unchecked((int)(seed * 1_000_003 + position.Epoch)));
        order = Enumerable.Range(0, examples.Count).ToArray();
        rng.Shuffle(order);
        Position = position;
    }

    /// <summary>The rate of the example at a data position: a hash of (seed, epoch, index), not a shared random stream.</summary>
    public int RateAt(DataPosition position)
    {
        ulong h = (ulong)seed * 0x9E3779B97F4A7C15UL ^ (ulong)position.Epoch * 0xBF58476D1CE4E5B9UL ^ (ulong)position.Index * 0x94D049BB133111EBUL;
        h ^= h >> 31; h *= 0xD6E8FEB86993A5ADUL; h ^= h >> 29;
        return rates[(int)(h % (ulong)rates.Count)];
    }

    public IReadOnlyList<(CompressionExample Example, int Rate)> Next(int count)
    {
        var batch = new List<(CompressionExample, int)>(count);
        for (int i = 0; i < count; i++)
        {
            if (Position.Index == examples.Count) Seek(new DataPosition(Position.Epoch + 1, 0));
            batch.Add((examples[order[Position.Index]], RateAt(Position)));
            Position = Position with { Index = Position.Index + 1 };
        }
        return batch;
    }
}
