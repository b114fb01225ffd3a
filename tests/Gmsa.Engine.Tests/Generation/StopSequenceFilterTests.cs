using Gmsa.Engine.Generation;

namespace Gmsa.Engine.Tests.Generation;

public sealed class StopSequenceFilterTests
{
    static (string Released, bool Stopped) Feed(StopSequenceFilter filter, params string[] pieces)
    {
        var released = "";
        foreach (var piece in pieces)
        {
            var (ready, stopped) = filter.Push(piece);
            released += ready;
            if (stopped) return (released, true);
        }
        return (released + filter.Flush(), false);
    }

    [Fact]
    public void Push_StopSplitAcrossPieces_ReleasesOnlyTheTextBeforeIt()
    {
        var filter = new StopSequenceFilter(["END"]);
        Assert.Equal(("Once up", true), Feed(filter, "Once", " up", "E", "N", "D and more"));
        Assert.True(filter.Stopped);
        Assert.Equal(("", true), filter.Push("anything"));   // nothing after a stop
        Assert.Equal("", filter.Flush());
    }

    [Fact]
    public void Push_HoldsBackOnlyWhatCouldStartAStop()
    {
        var filter = new StopSequenceFilter(["abc"]);
        Assert.Equal(("xy", false), filter.Push("xyab"));   // "ab" may become "abc"
        Assert.Equal(("abd", false), filter.Push("d"));      // it did not: released, nothing held ("d" is 1 char < 2)
        Assert.Equal(("", false), filter.Push("a"));
        Assert.Equal("a", filter.Flush());                  // the sequence ended another way: the held-back text is text
    }

    [Fact]
    public void Push_WholeTextWithSeveralStops_EndsAtTheEarliestOccurrence()
    {
        Assert.Equal(("one ", true), Feed(new StopSequenceFilter(["three", "two"]), "one two three"));
        Assert.Equal(("no stop here", false), Feed(new StopSequenceFilter(["xyz"]), "no stop here"));
        Assert.Equal(("", true), Feed(new StopSequenceFilter(["st"]), "stop"));
        Assert.Equal(("plain", false), Feed(new StopSequenceFilter([]), "plain"));
    }

    [Fact]
    public void Constructor_EmptyStop_Throws() =>
        Assert.Throws<ArgumentException>(() => new StopSequenceFilter(["ok", ""]));
}
