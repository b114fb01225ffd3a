using Gmsa.Engine.Corpus;

namespace Gmsa.Engine.Tests.Corpus;

public class WordNetReaderTests
{
    // Lines as they stand in wordnet-base's data.verb, data.adj and data.noun.
    const string Verb = "00597915 31 v 03 learn 0 larn 0 acquire 0 008 + 05752544 n 0302 + 05637558 n 0304 + 09801864 n 0102 + 10251779 n 0101 " +
                        "~ 00598278 v 0000 ~ 00598753 v 0000 ~ 00602255 v 0000 ~ 00607114 v 0000 04 + 02 00 + 08 00 + 22 00 + 28 00 | " +
                        "gain knowledge or skills; \"She learned dancing from her sister\"; \"I learned Sanskrit\"; \"Children acquire language at an amazing rate\"  ";
    const string Adjective = "00908143 00 s 03 ingratiating 0 insinuating 0 ingratiatory 0 002 & 00907661 a 0000 + 01804613 v 0301 | " +
                             "calculated to please or gain favor; \"a smooth ingratiating manner\"  ";
    const string Noun = "00001930 03 n 01 physical_entity 0 007 @ 00001740 n 0000 ~ 00002452 n 0000 ~ 00002684 n 0000 ~ 00007347 n 0000 " +
                        "~ 00020827 n 0000 ~ 00029677 n 0000 ~ 14580597 n 0000 | an entity that has physical existence  ";
    const string Licence = "  1 This software and database is being provided to you, the LICENSEE, by  ";

    [Theory]
    [InlineData(Verb, "learn (also larn, acquire): gain knowledge or skills. For example: \"She learned dancing from her sister\"; \"I learned Sanskrit\"; \"Children acquire language at an amazing rate\".")]
    [InlineData(Adjective, "ingratiating (also insinuating, ingratiatory): calculated to please or gain favor. For example: \"a smooth ingratiating manner\".")]
    [InlineData(Noun, "physical entity: an entity that has physical existence.")]
    [InlineData("00002098 00 a 01 able(p) 0 000 | (usually followed by `to') having the necessary means or skill  ", "able: (usually followed by ‘to’) having the necessary means or skill.")]
    public void ParseLine_DataFileLine_BecomesDefinitionalSentence(string line, string expected)
    {
        Assert.Equal(expected, WordNetReader.ParseLine(line));
    }

    [Fact]
    public void ParseLine_LicenceHeader_IsSkipped()
    {
        Assert.Null(WordNetReader.ParseLine(Licence));
    }

    [Fact]
    public void Read_MoreGlossesThanADocumentHolds_GroupsThemInOrder()
    {
        var lines = new List<string> { Licence };
        for (int i = 0; i <= WordNetReader.GlossesPerDocument; i++) lines.Add(Noun);

        var docs = WordNetReader.Read("nouns", lines);

        Assert.Equal(["wordnet/nouns/001", "wordnet/nouns/002"], docs.Select(d => d.Id));
        Assert.Equal(WordNetReader.GlossesPerDocument, docs[0].Text.Split('\n').Length);
        Assert.Equal("physical entity: an entity that has physical existence.", docs[1].Text);
    }
}
