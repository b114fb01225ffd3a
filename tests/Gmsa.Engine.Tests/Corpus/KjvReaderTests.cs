using Gmsa.Engine.Corpus;

namespace Gmsa.Engine.Tests.Corpus;

public class KjvReaderTests
{
    // As `bible -p DIR "Gen1:1-Rev22:21"` prints: headings between blank lines, verses wrapped at 80 columns.
    // "Psalm 23" below is a wrapped verse line, not a heading: it has text above it.
    const string Output = """

        Genesis 1

          1 In the beginning God created the heaven and the earth.
          2 And the earth was without form, and void; and darkness was upon the face of
        the deep. And the Spirit of God moved upon the face of the waters.

        Genesis 2

          1 Thus the heavens and the earth were finished, as sung in
        Psalm 23
        and all the host of them.

        1 Samuel 1

          1 Now there was a certain man of Ramathaimzophim, of mount Ephraim, and his
        name was Elkanah.
        """;

    [Fact]
    public void Read_BibleOutput_OneDocumentPerBookWithoutNumbers()
    {
        var docs = KjvReader.Read(Output);

        Assert.Equal(["kjv/genesis", "kjv/1-samuel"], docs.Select(d => d.Id));
        Assert.Equal(
            "In the beginning God created the heaven and the earth. And the earth was without form, and void; and darkness was upon " +
            "the face of the deep. And the Spirit of God moved upon the face of the waters.\n\n" +
            "Thus the heavens and the earth were finished, as sung in Psalm 23 and all the host of them.",
            docs[0].Text);
        Assert.Equal("Now there was a certain man of Ramathaimzophim, of mount Ephraim, and his name was Elkanah.", docs[1].Text);
        Assert.Equal("1 Samuel (King James Version)", docs[1].Title);
    }

    [Fact]
    public void Read_TextBeforeAnyHeading_Throws()
    {
        Assert.Throws<InvalidDataException>(() => KjvReader.Read("  1 In the beginning\n"));
    }
}
