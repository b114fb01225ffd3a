using static TorchSharp.torch;

namespace Gmsa.Engine.Training;

/// <summary>Where a pass over the data stands: the epoch and how many of its windows were consumed.</summary>
public readonly record struct DataPosition(int Epoch, long Index);

/// <summary>
/// Cuts a token stream into non-overlapping windows of T + 1 tokens (inputs and their next-token
/// targets overlap by one) and serves them in a seeded order that is reshuffled every epoch. Each
/// epoch also shifts the window boundaries by a seeded offset below T, so a small corpus is not
/// cut at the same places every time. Everything follows from (seed, epoch, index): a resumed
/// run that seeks to its saved position sees exactly the batches the uninterrupted run saw.
/// With <see cref="RepeatedPassages"/>, a seeded share of the windows is rewritten as repeated
/// passages (evaluation windows never are).
/// </summary>
public sealed class TokenWindows
{
    readonly TokenStream stream;
    readonly int length;
    readonly long seed;
    readonly RepeatedPassages? repeated;
    long[] order = [];
    long offset;

    public TokenWindows(TokenStream stream, int length, long seed, RepeatedPassages? repeated = null)
    {
        if (length < 1) throw new ArgumentOutOfRangeException(nameof(length), "window length must be positive");
        if (stream.Count < 2L * length + 1)
            throw new ArgumentException($"a stream of {stream.Count} tokens is too short for windows of {length} (needs {2L * length + 1})");
        this.stream = stream;
        this.length = length;
        this.seed = seed;
        this.repeated = repeated;
        Seek(new DataPosition(0, 0));
    }

    public int Length => length;
    public DataPosition Position { get; private set; }
    /// <summary>Windows in the current epoch.</summary>
    public long WindowsPerEpoch => order.LongLength;

    public void Seek(DataPosition position)
    {
        if (position.Epoch < 0) throw new ArgumentOutOfRangeException(nameof(position));
        var rng = new Random(unchecked((int)(seed * 1_000_003 + position.Epoch)));
        offset = rng.NextInt64(length);
        long count = (stream.Count - 1 - offset) / length;
        order = new long[count];
        for (long i = 0; i < count; i++) order[i] = i;
        rng.Shuffle(order);
        if (position.Index < 0 || position.Index > count)
            throw new ArgumentOutOfRangeException(nameof(position), $"index {position.Index} is outside epoch {position.Epoch}'s {count} windows");
        Position = position;
    }

    /// <summary>The next <paramref name="batchSize"/> windows as int64 ids [B, T + 1], rolling into the next epoch as needed.</summary>
    public Tensor NextBatch(int batchSize)
    {
        var ids = new long[batchSize * (length + 1L)];
        for (int row = 0; row < batchSize; row++)
        {
            if (Position.Index == order.LongLength) Seek(new DataPosition(Position.Epoch + 1, 0));
            var window = ids.AsSpan(row * (length + 1), length + 1);
            CopyWindow(offset + order[Position.Index] * length, window);
            repeated?.Apply(window, new Random(unchecked((int)(seed * 7_919 + Position.Epoch * 1_000_003L + Position.Index))));
            Position = Position with { Index = Position.Index + 1 };
        }
        return tensor(ids, [batchSize, length + 1]);
    }

    void CopyWindow(long start, Span<long> target)
    {
        for (int i = 0; i < target.Length; i++) target[i] = stream.Ids[start + i];
    }

    /// <summary>
    /// Evaluation windows: non-overlapping, unshuffled, from the start of the stream, as int64 ids
    /// [n, T + 1]. With <paramref name="maxWindows"/> below the total, an evenly strided subset, so a
    /// quick estimate still covers the whole split.
    /// </summary>
    public static Tensor EvaluationWindows(TokenStream stream, int length, int? maxWindows = null)
    {
        long total = (stream.Count - 1) / length;
        if (total == 0) throw new ArgumentException($"a stream of {stream.Count} tokens holds no window of {length}");
        long n = maxWindows is { } m ? Math.Min(m, total) : total;
        var ids = new long[n * (length + 1)];
        for (long w = 0; w < n; w++)
        {
            long start = w * total / n * length;
            for (int i = 0; i <= length; i++) ids[w * (length + 1) + i] = stream.Ids[start + i];
        }
        return tensor(ids, [n, length + 1]);
    }
}
