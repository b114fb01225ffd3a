using Gmsa.Engine.Compression;
using Gmsa.Engine.Corpus;

namespace Gmsa.Engine.Tests.Corpus;

public class FactbookQaTests
{
    /// <summary>A Factbook-like file with the archive's quirks: notes after semicolons, asides, estimates, plural currency names.</summary>
    static string Country(string name = "Ruritania") => $$"""
    {
      "Introduction": { "Background": { "text": "{{name}} was founded in 1871 by a king." } },
      "Geography": {
        "Location": { "text": "Central Europe, between Germany and Austria" },
        "Area": { "total": { "text": "643,801 sq km; 551,500 sq km (metropolitan {{name}})" } },
        "Coastline": { "text": "0 km (landlocked)" },
        "Elevation extremes": { "lowest point": { "text": "Elbe River 115 m" }, "highest point": { "text": "Mount Zenda (Zendaberg) 2,917 m" } }
      },
      "People and Society": {
        "Languages": { "text": "Ruritanian (official) 84.3%, German 10.1%, other 5.6% (2011 est.)" },
        "Population": { "text": "5,120,334 (July 2015 est.)" },
        "Life expectancy at birth": { "total population": { "text": "79.98 years" }, "male": { "text": "77.1 years" } }
      },
      "Government": {
        "Country name": { "conventional long form": { "text": "Kingdom of {{name}}" }, "conventional short form": { "text": "{{name}}" } },
        "Government type": { "text": "constitutional monarchy" },
        "Capital": { "name": { "text": "Strelsau (Strelzau); note - the court moves to Zenda in summer" } },
        "Independence": { "text": "12 May 1871 (from the Holy Roman Empire)" },
        "National holiday": { "text": "Coronation Day, 4 August (1871); note - a second holiday falls in May" }
      },
      "Economy": { "Exchange rates": { "text": "Ruritanian kroner (RUK) per US dollar - ++ 6.163 (2014) ++ 5.876 (2013)" } }
    }
    """;

    [Fact]
    public void Profile_FactbookLikeCountry_CleansEachFieldToAShortGoldAnswer()
    {
        CountryProfile profile = FactbookQa.Profile("rr", Country(), seed: 1)!;

        var answers = profile.Facts.ToDictionary(f => f.Field, f => string.Join(" | ", f.Answers));
        Assert.Equal(new Dictionary<string, string>
        {
            ["capital"] = "Strelsau | Strelzau", ["region"] = "Central Europe", ["area"] = "643,801 sq km", ["coastline"] = "0 km",
            ["highest point"] = "Mount Zenda | Zendaberg", ["highest elevation"] = "2,917 m",
            ["population"] = "5,120,334 | 5,120,334 (July 2015 est.)", ["language"] = "Ruritanian", ["life expectancy"] = "79.98 years",
            ["government type"] = "constitutional monarchy", ["independence"] = "12 May 1871", ["national holiday"] = "Coronation Day",
            ["holiday date"] = "4 August", ["currency"] = "Ruritanian krone | RUK",
        }, answers);
        Assert.Equal(FactbookFacts.Fields, profile.Facts.Select(f => f.Field));
        Assert.Equal(("rr", "Ruritania"), (profile.Code, profile.Name));
    }

    [Fact]
    public void Items_EveryQuestion_HasAllItsGoldAnswersVerbatimInItsContext()
    {
        CountryProfile profile = FactbookQa.Profile("rr", Country(), seed: 1)!;

        List<QaItem> items = FactbookQa.Items(profile).ToList();

        Assert.Equal(FactbookFacts.Fields.Count, items.Count);
        Assert.All(items, item =>
        {
            Assert.Equal(profile.Text, item.Input);
            Assert.All(item.Answers, a => Assert.Contains(a, item.Input));
            Assert.StartsWith(" Question: ", item.Prompt);
            Assert.EndsWith("? Answer:", item.Prompt);
            Assert.Contains("Ruritania", item.Prompt);
        });
        Assert.Contains(" Question: What is the capital of Ruritania? Answer:", items.Select(i => i.Prompt));
        Assert.InRange(TextCleanup.CountWords(profile.Text), FactbookQa.MinWords, FactbookQa.MaxWords);
        Assert.DoesNotContain("note", profile.Text);
    }

    [Fact]
    public void Profile_Seed_FixesTheSentenceOrder()
    {
        string first = FactbookQa.Profile("rr", Country(), seed: 1)!.Text;

        Assert.Equal(first, FactbookQa.Profile("rr", Country(), seed: 1)!.Text);
        string other = FactbookQa.Profile("rr", Country(), seed: 2)!.Text;
        Assert.NotEqual(first, other);
        Assert.Equal(first.Split(". ").Order(), other.Split(". ").Order());    // the same sentences, shuffled
    }

    [Fact]
    public void Profile_MessyFields_AreSkippedNotGuessed()
    {
        string json = Country()
            .Replace("12 May 1871 (from the Holy Roman Empire)", "none (territory of New Zealand)")
            .Replace("Mount Zenda (Zendaberg) 2,917 m", "unnamed elevation 805 m")
            .Replace("constitutional monarchy", "operates under a transitional government")
            .Replace("\"conventional short form\": { \"text\": \"Ruritania\" }", "\"conventional short form\": { \"text\": \"none\" }");

        CountryProfile profile = FactbookQa.Profile("rr", json, seed: 1)!;

        Assert.Equal("Kingdom of Ruritania", profile.Name);
        Assert.DoesNotContain(profile.Facts, f => f.Field is "independence" or "highest point" or "government type");
        Assert.Equal("805 m", profile.Facts.Single(f => f.Field == "highest elevation").Answers.Single());
        Assert.Contains("The highest point in Kingdom of Ruritania rises to 805 m.", profile.Text);
    }

    [Fact]
    public void Profile_NoNameOrTooFewFacts_ReturnsNull()
    {
        Assert.Null(FactbookQa.Profile("xx", """{ "Geography": { "Area": { "total": { "text": "5 sq km" } } } }""", seed: 1));
        Assert.Null(FactbookQa.Profile("bv", """
            { "Government": { "Country name": { "conventional short form": { "text": "Bouvet Island" } } },
              "Geography": { "Area": { "total": { "text": "49 sq km" } }, "Coastline": { "text": "29.6 km" } } }
            """, seed: 1));
    }

    [Fact]
    public void SplitOf_CountryCodes_HashStablyToAbout80_10_10()
    {
        string[] codes = [.. from a in "abcdefghijklmnopqrstuvwxyz" from b in "abcdefghijklmnopqrstuvwxyz" select $"{a}{b}"];

        var splits = codes.Select(FactbookQa.SplitOf).ToList();

        Assert.Equal(codes.Select(c => new CorpusSplitter(0.1, 0.1).Assign(c)), splits);
        Assert.InRange(splits.Count(s => s == CorpusSplit.Test) / (double)codes.Length, 0.07, 0.13);
        Assert.InRange(splits.Count(s => s == CorpusSplit.Validation) / (double)codes.Length, 0.07, 0.13);
    }

    [Fact]
    public void Build_Countries_WritesAllOfACountrysItemsToItsSplitAndAReadme()
    {
        using var dir = new TempDir();
        // One country per split, found by hash, plus a file without a name that is left out.
        var codes = CorpusSplitter.Splits.Select(split => CodeIn(split)).ToList();
        var countries = codes.Select(c => (c, Country($"Land{c.ToUpperInvariant()}"))).Append(("oo", """{ "Geography": {} }""")).ToList();

        IReadOnlyList<QaSplitCount> counts = FactbookQa.Build(countries, dir.Path, seed: 1, "gmsa data qa --test");

        foreach (CorpusSplit split in CorpusSplitter.Splits)
        {
            IReadOnlyList<QaItem> items = QaJsonl.Read(Path.Combine(dir.Path, CorpusSplitter.FileStem(split) + ".jsonl"));
            string name = $"Land{CodeIn(split).ToUpperInvariant()}";
            Assert.All(items, i => Assert.Contains(name, i.Prompt));
            Assert.Equal(FactbookFacts.Fields.Count, items.Count);
            Assert.Equal(new QaSplitCount(split, 1, items.Count), counts.Single(c => c.Split == split));
        }
        string readme = File.ReadAllText(Path.Combine(dir.Path, FactbookQa.ReadmeFile));
        Assert.Contains("`gmsa data qa --test`", readme);
        Assert.Contains($"| test | 1 | {FactbookFacts.Fields.Count} |", readme);
        Assert.Contains("| capital | 3 |", readme);
    }

    [Fact]
    public void Build_SameCodeTwice_Throws()
    {
        using var dir = new TempDir();

        var e = Assert.Throws<InvalidDataException>(() => FactbookQa.Build([("rr", Country()), ("rr", Country())], dir.Path, 1, "test"));

        Assert.Contains("country code rr", e.Message);
    }

    static string CodeIn(CorpusSplit split) =>
        (from a in "abcdefghijklmnopqrstuvwxyz" from b in "abcdefghijklmnopqrstuvwxyz" select $"{a}{b}").First(c => FactbookQa.SplitOf(c) == split);
}
