using Gmsa.Engine.Corpus;

namespace Gmsa.Engine.Tests.Corpus;

public class CorpusSplitterTests
{
    [Theory]
    // Computed independently with Python: (int.from_bytes(sha256(id).digest()[:8], "big") >> 11) / 2**53.
    [InlineData("brown/ca01", 0.9186962324852497)]
    [InlineData("kjv/genesis", 0.9328190359302286)]
    [InlineData("wordnet/nouns/001", 0.9353796643451625)]
    public void Position_KnownIds_MatchesAnIndependentSha256(string id, double expected)
    {
        Assert.Equal(expected, CorpusSplitter.Position(id));
    }

    [Fact]
    public void Assign_SameIdOnTwoSplitters_SameSplit()
    {
        var a = new CorpusSplitter(0.05, 0.05);
        var b = new CorpusSplitter(0.05, 0.05);

        for (int i = 0; i < 1000; i++)
            Assert.Equal(a.Assign($"doc/{i}"), b.Assign($"doc/{i}"));
    }

    [Fact]
    public void Assign_TenThousandIds_FractionsNearTargets()
    {
        var splitter = new CorpusSplitter(0.01, 0.02);
        var counts = Enumerable.Range(0, 10_000).Select(i => splitter.Assign($"synthetic/{i}")).GroupBy(s => s).ToDictionary(g => g.Key, g => g.Count());

        // Binomial standard deviations are ~10 and ~14: four of them either way.
        Assert.InRange(counts[CorpusSplit.Validation], 100 - 40, 100 + 40);
        Assert.InRange(counts[CorpusSplit.Test], 200 - 56, 200 + 56);
        Assert.Equal(10_000 - counts[CorpusSplit.Validation] - counts[CorpusSplit.Test], counts[CorpusSplit.Train]);
    }

    [Fact]
    public void Assign_LargerValidationFraction_KeepsEarlierValidationDocuments()
    {
        var small = new CorpusSplitter(0.01, 0.01);
        var large = new CorpusSplitter(0.03, 0.01);

        var ids = Enumerable.Range(0, 5000).Select(i => $"doc/{i}").Where(id => small.Assign(id) == CorpusSplit.Validation).ToList();

        Assert.NotEmpty(ids);
        Assert.All(ids, id => Assert.Equal(CorpusSplit.Validation, large.Assign(id)));
    }

    [Theory]
    [InlineData(-0.1, 0.01)]
    [InlineData(0.6, 0.5)]
    [InlineData(0.01, 1.0)]
    public void Constructor_FractionsOutOfRange_Throws(double validation, double test)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new CorpusSplitter(validation, test));
    }
}
