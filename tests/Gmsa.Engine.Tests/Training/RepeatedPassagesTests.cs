using Gmsa.Engine.Training;

namespace Gmsa.Engine.Tests.Training;

public sealed class RepeatedPassagesTests
{
    static long[] Counting(int n) => Enumerable.Range(100, n).Select(i => (long)i).ToArray();

    [Fact]
    public void Apply_FixedPassageLength_WritesEachPassageTwiceInOrder()
    {
        var window = Counting(10);
        var repeated = new RepeatedPassages { Fraction = 1, MinTokens = 3, MaxTokens = 3 };
        Assert.True(repeated.Apply(window, new Random(1)));
        // Passages [100 101 102] and [103 104 105]; the window ends inside the second one's copy.
        Assert.Equal([100, 101, 102, 100, 101, 102, 103, 104, 105, 103], window);
    }

    [Fact]
    public void Apply_RandomLengths_EverySecondCopyEqualsItsFirst()
    {
        var repeated = new RepeatedPassages { Fraction = 1, MinTokens = 2, MaxTokens = 40 };
        for (int seed = 0; seed < 20; seed++)
        {
            var window = Counting(257);
            repeated.Apply(window, new Random(seed));
            // Read back: the source text is consumed in order and each passage is followed by itself.
            int i = 0; long next = 100;
            while (i < window.Length)
            {
                Assert.Equal(next, window[i]);
                int length = 0;
                while (i + length < window.Length && window[i + length] == next + length) length++;
                // The run [next, next + length) is the passage; its copy follows (cut at the window's end).
                for (int k = 0; k < length && i + length + k < window.Length; k++) Assert.Equal(next + k, window[i + length + k]);
                i += 2 * length; next += length;
            }
        }
    }

    [Fact]
    public void Apply_FractionZero_LeavesTheWindowAlone()
    {
        var window = Counting(50);
        Assert.False(new RepeatedPassages { Fraction = 0 }.Apply(window, new Random(3)));
        Assert.Equal(Counting(50), window);
    }

    [Fact]
    public void Apply_FractionHalf_RewritesAboutHalfTheWindows()
    {
        var repeated = new RepeatedPassages { Fraction = 0.5, MinTokens = 4, MaxTokens = 8 };
        int rewritten = Enumerable.Range(0, 1000).Count(seed => repeated.Apply(Counting(64), new Random(seed)));
        Assert.InRange(rewritten, 430, 570);
    }

    [Theory]
    [InlineData(-0.1, 16, 256)]
    [InlineData(1.5, 16, 256)]
    [InlineData(0.5, 0, 256)]
    [InlineData(0.5, 64, 32)]
    public void Validate_OutOfRange_Throws(double fraction, int min, int max) =>
        Assert.Throws<InvalidDataException>(() => new RepeatedPassages { Fraction = fraction, MinTokens = min, MaxTokens = max }.Validate());
}
