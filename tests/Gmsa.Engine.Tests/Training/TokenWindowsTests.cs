using Gmsa.Engine.Training;
using static TorchSharp.torch;

namespace Gmsa.Engine.Tests.Training;

public sealed class TokenWindowsTests
{
    // Ids equal to their position (mod vocab), so every window reveals where it was cut.
    static TokenStream Counting(int count) => new(Enumerable.Range(0, count).Select(i => (ushort)(i % 60000)).ToArray(), 60000);

    static long[][] Rows(Tensor batch) =>
        Enumerable.Range(0, (int)batch.shape[0]).Select(r => batch[r].data<long>().ToArray()).ToArray();

    [Fact]
    public void NextBatch_OneEpoch_CoversEveryWindowOnceAsContiguousSlices()
    {
        var windows = new TokenWindows(Counting(1001), length: 10, seed: 7);
        long perEpoch = windows.WindowsPerEpoch;
        var starts = new List<long>();
        for (long i = 0; i < perEpoch; i++)
        {
            using var batch = windows.NextBatch(1);                          // [1, 11]
            var row = Rows(batch)[0];
            Assert.Equal(Enumerable.Range(0, 11).Select(k => row[0] + k), row); // targets follow inputs
            starts.Add(row[0]);
        }
        var offset = starts.Min() % 10;
        Assert.Equal(starts.Count, starts.Distinct().Count());
        Assert.All(starts, s => Assert.Equal(offset, s % 10));               // non-overlapping, one grid
        Assert.Equal(perEpoch, (1001 - 1 - offset) / 10);
        Assert.NotEqual(starts.Order(), starts);                             // shuffled
        Assert.Equal(new DataPosition(0, perEpoch), windows.Position);
    }

    [Fact]
    public void Seek_SavedPosition_ReplaysTheSameBatches()
    {
        var a = new TokenWindows(Counting(5000), 16, seed: 3);
        for (int i = 0; i < 100; i++) a.NextBatch(4).Dispose();            // 400 windows: into epoch 1
        var saved = a.Position;
        using var expected = a.NextBatch(8);

        var b = new TokenWindows(Counting(5000), 16, seed: 3);
        b.Seek(saved);
        using var actual = b.NextBatch(8);
        Assert.Equal(1, saved.Epoch);
        Assert.Equal(Rows(expected), Rows(actual));
    }

    [Fact]
    public void Seek_NextEpoch_ReshufflesAndShiftsTheGrid()
    {
        var windows = new TokenWindows(Counting(100_000), 64, seed: 11);
        var firstRows = Rows(windows.NextBatch(32));
        windows.Seek(new DataPosition(1, 0));
        var secondRows = Rows(windows.NextBatch(32));
        Assert.NotEqual(firstRows.Select(r => r[0]), secondRows.Select(r => r[0]));
    }

    [Fact]
    public void EvaluationWindows_Subset_IsEvenlyStridedAndUnshuffled()
    {
        using var all = TokenWindows.EvaluationWindows(Counting(1001), 10);
        using var some = TokenWindows.EvaluationWindows(Counting(1001), 10, maxWindows: 4);
        Assert.Equal([100, 11], all.shape);
        Assert.Equal(new long[] { 0, 250, 500, 750 }, Rows(some).Select(r => r[0]));
    }

    [Fact]
    public void Seek_WithRepeatedPassages_ReplaysTheSameRewrittenWindows()
    {
        var repeated = new RepeatedPassages { Fraction = 0.5, MinTokens = 2, MaxTokens = 6 };
        var a = new TokenWindows(Counting(5000), 32, seed: 5, repeated);
        for (int i = 0; i < 10; i++) a.NextBatch(4).Dispose();
        var saved = a.Position;
        var expected = Rows(a.NextBatch(16));

        var b = new TokenWindows(Counting(5000), 32, seed: 5, repeated);
        b.Seek(saved);
        Assert.Equal(expected, Rows(b.NextBatch(16)));
        // Some rows were rewritten (a token repeats), some are plain contiguous text.
        static bool Plain(long[] row) => row.Zip(row.Skip(1)).All(p => p.Second == p.First + 1);
        Assert.Contains(expected, r => Plain(r));
        Assert.Contains(expected, r => !Plain(r));
    }

    [Fact]
    public void Constructor_StreamShorterThanTwoWindows_Throws() =>
        Assert.Throws<ArgumentException>(() => new TokenWindows(Counting(20), 10, seed: 0));
}
