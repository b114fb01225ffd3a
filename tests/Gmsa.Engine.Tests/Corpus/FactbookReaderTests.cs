using Gmsa.Engine.Corpus;

namespace Gmsa.Engine.Tests.Corpus;

public class FactbookReaderTests
{
    const string Country = """
    {
      "Introduction": { "Background": { "text": "Ruritania was founded in 1900 by a king. It became a republic after the war and now trades widely with its neighbors." } },
      "Geography": {
        "Area": { "total": { "text": "643,801 sq km" } },
        "Natural resources": { "text": "coal, iron ore, bauxite, zinc, uranium, antimony, arsenic, potash, feldspar, fluorspar, gypsum, timber, arable land, fish, salt, gold, silver" },
        "Geography - note": { "text": "the country lies astride the main trade routes of the region and controls the mountain passes; its capital (the old royal city; now a market town) sits on the river" }
      },
      "Economy": { "Exchange rates": { "text": "rurits per US dollar - ++ 0.7489 (2014 est.) ++ 0.7634 (2013 est.) ++ 0.7752 (2012 est.) ++ 0.7185 (2011 est.)" } },
      "Government": { "Country name": { "conventional long form": { "text": "Kingdom of Ruritania" }, "conventional short form": { "text": "Ruritania" } } }
    }
    """;

    [Fact]
    public void Read_CountryProfile_KeepsProseFieldsOnly()
    {
        CorpusDocument doc = FactbookReader.Read("rr", Country)!;

        Assert.Equal(
            "Ruritania was founded in 1900 by a king. It became a republic after the war and now trades widely with its neighbors.\n\n" +
            "The country lies astride the main trade routes of the region and controls the mountain passes. " +
            "Its capital (the old royal city; now a market town) sits on the river.",
            doc.Text);
        Assert.Equal(("factbook/rr", "Ruritania"), (doc.Id, doc.Title));
    }

    [Theory]
    [InlineData("12 km")]
    [InlineData("Christian 63%, Muslim 7%, Jewish 1%, Buddhist 1%, other 1%, none 23%, unspecified 4%, and a few more groups in 2015 est.")]
    [InlineData("machinery and transportation equipment, aircraft, plastics, chemicals, pharmaceutical products, iron and steel, beverages, wine, cheese")]
    [InlineData("Concerned Citizens Movement or CCM [Ethlyn SMITH];; National Democratic Party or NDP [Orlando SMITH];; United Party or UP [Gregory MADURO]")]
    public void AsProse_FiguresAndLists_AreDropped(string field)
    {
        Assert.Null(FactbookReader.AsProse(field));
    }

    [Fact]
    public void AsProse_SpaceBeforeComma_IsClosed()
    {
        Assert.Equal("The country followed a policy of liberalization until the onset of a political crisis, which lasted for four years.",
            FactbookReader.AsProse("The country followed a policy of liberalization until the onset of a political crisis , which lasted for four years ."));
    }

    [Fact]
    public void Read_NoProse_ReturnsNull()
    {
        Assert.Null(FactbookReader.Read("xx", """{ "Geography": { "Area": { "total": { "text": "1 sq km" } } } }"""));
    }
}
