using System.Text.Json;
using Gmsa.Engine.Corpus;
using Gmsa.Engine.Text;
using Gmsa.Engine.Training;

namespace Gmsa.Engine.Tests.Corpus;

public class CorpusEncoderTests
{
    const string Tok512 = "stories260k/tok512.model";

    /// <summary>A tokenizer folder as `gmsa data tokenizer` writes it, holding llama2.c's tok512 model.</summary>
    static string Tok512Folder(TempDir dir)
    {
        string folder = Path.Combine(dir.Path, "tokenizer");
        Directory.CreateDirectory(folder);
        File.Copy(Fixtures.Require(Tok512), Path.Combine(folder, SentencePieceTrainer.ModelFile));
        TokenizerConfig.WriteLlama(folder, modelMaxLength: 256);
        return folder;
    }

    [Fact]
    public void EncodeDocuments_Tok512_FramesEachDocumentWithBosAndEos()
    {
        var tokenizer = TextTokenizer.Load(Fixtures.Require(Tok512));
        string[] texts = ["Once upon a time, there was a little girl named Lily.", "She liked to play.\n\nThe end."];

        ushort[] ids = CorpusEncoder.EncodeDocuments(texts, () => TextTokenizer.Load(Fixtures.Require(Tok512)), workers: 2);

        int[] expected = [1, .. tokenizer.Encode(texts[0], addBos: false), 2, 1, .. tokenizer.Encode(texts[1], addBos: false), 2];
        Assert.Equal(expected, ids.Select(i => (int)i));
        Assert.Equal([1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 2], ids[..17].Select(i => (int)i));
        Assert.Equal(texts[1], tokenizer.Decode(ids[18..^1].Select(i => (int)i)));
    }

    [Fact]
    public void EncodeDocuments_FourWorkers_SameIdsAsOne()
    {
        string[] texts = Enumerable.Range(0, 60).Select(i => $"Tom had {i} red balls. He gave {i % 7} of them to Sam.").ToArray();
        Func<TextTokenizer> load = () => TextTokenizer.Load(Fixtures.Require(Tok512));

        Assert.Equal(CorpusEncoder.EncodeDocuments(texts, load, workers: 1), CorpusEncoder.EncodeDocuments(texts, load, workers: 4));
    }

    [Fact]
    public void Encode_CorpusFolder_WritesTokenFilesAndSummary()
    {
        using var dir = new TempDir();
        string tokenizer = Tok512Folder(dir), corpus = Path.Combine(dir.Path, "corpus"), tokens = Path.Combine(dir.Path, "tokens");
        Directory.CreateDirectory(corpus);
        var texts = new Dictionary<CorpusSplit, string[]>
        {
            [CorpusSplit.Train] = ["Once upon a time there was a cat.", "The cat sat on the mat."],
            [CorpusSplit.Validation] = ["Lily ran home."],
            [CorpusSplit.Test] = ["The sun was hot.", "Ben was happy.", "They all smiled."],
        };
        foreach (var (split, list) in texts)
            CorpusJsonl.Write(CorpusJsonl.SplitPath(corpus, split), list.Select((t, i) => new CorpusDocument($"{split}/{i}", "test", "t", t)));

        TokenSummary summary = CorpusEncoder.Encode(corpus, tokenizer, tokens);

        var reference = TextTokenizer.Load(tokenizer);
        foreach (var (split, list) in texts)
        {
            TokenStream stream = TokenFile.Read(Path.Combine(tokens, CorpusSplitter.FileStem(split) + ".bin"), expectedVocabSize: 512);
            int[] expected = list.SelectMany(t => (int[])[1, .. reference.Encode(t, addBos: false), 2]).ToArray();
            Assert.Equal(expected, stream.Ids.Select(i => (int)i));
            Assert.Equal(expected.Length, summary.Splits.Single(s => s.Name == CorpusSplitter.FileStem(split)).Tokens);
        }
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(tokens, CorpusEncoder.SummaryFile)));
        Assert.Equal(512, json.RootElement.GetProperty("vocab_size").GetInt32());
        Assert.Equal(3, json.RootElement.GetProperty("splits")[2].GetProperty("documents").GetInt32());
        Assert.Equal(PackageCache.Sha256Of(Fixtures.Require(Tok512)), json.RootElement.GetProperty("tokenizer_model_sha256").GetString());
    }

    [Fact]
    public void RequireEncodedBy_TokenFilesOfAnotherTokenizer_RefusesNamingTheEncodeCommand()
    {
        using var dir = new TempDir();
        string tokenizer = Tok512Folder(dir), corpus = Path.Combine(dir.Path, "corpus"), tokens = Path.Combine(dir.Path, "tokens");
        Directory.CreateDirectory(corpus);
        foreach (CorpusSplit split in CorpusSplitter.Splits)
            CorpusJsonl.Write(CorpusJsonl.SplitPath(corpus, split), [new CorpusDocument($"{split}/0", "test", "t", "The cat sat.")]);
        CorpusEncoder.Encode(corpus, tokenizer, tokens);
        string other = Path.Combine(dir.Path, "other"), none = Path.Combine(dir.Path, "none");
        Directory.CreateDirectory(other);
        Directory.CreateDirectory(none);
        File.WriteAllBytes(Path.Combine(other, SentencePieceTrainer.ModelFile), [1, 2, 3]);

        CorpusEncoder.RequireEncodedBy(tokens, tokenizer);                                  // the folder
        CorpusEncoder.RequireEncodedBy(Path.Combine(tokens, "validation.bin"), tokenizer);  // a file in it
        var e = Assert.Throws<InvalidDataException>(() => CorpusEncoder.RequireEncodedBy(tokens, other));
        Assert.Contains($"gmsa data encode --tokenizer {other}", e.Message);
        Assert.Contains("encoded by another tokenizer", e.Message);
        e = Assert.Throws<InvalidDataException>(() => CorpusEncoder.RequireEncodedBy(Path.Combine(tokens, "train.bin"), none));
        Assert.Contains($"{none} has no tokenizer.model", e.Message);

        File.Delete(Path.Combine(tokens, CorpusEncoder.SummaryFile));   // hand-written token files carry no record to check
        CorpusEncoder.RequireEncodedBy(tokens, other);
    }

    [Fact]
    public void Encode_MissingSplit_SaysToRunPrepare()
    {
        using var dir = new TempDir();
        string tokenizer = Tok512Folder(dir);

        var e = Assert.Throws<FileNotFoundException>(() => CorpusEncoder.Encode(Path.Combine(dir.Path, "none"), tokenizer, dir.File("tokens")));
        Assert.Contains("gmsa data prepare", e.Message);
    }

    [Fact]
    public void TokenFile_WriteRead_RoundTripsIdsAndVocab()
    {
        using var dir = new TempDir();
        ushort[] ids = [1, 403, 407, 2, 1, 65535, 2];

        TokenFile.Write(dir.File("train.bin"), ids, vocabSize: 65536);
        TokenStream stream = TokenFile.Read(dir.File("train.bin"), expectedVocabSize: 65536);

        Assert.Equal(ids, stream.Ids);
        Assert.Equal(7, stream.Count);
    }

    [Fact]
    public void TokenFile_TruncatedFile_IsRejected()
    {
        using var dir = new TempDir();
        TokenFile.Write(dir.File("train.bin"), [1, 5, 6, 2], vocabSize: 512);
        byte[] bytes = File.ReadAllBytes(dir.File("train.bin"));
        File.WriteAllBytes(dir.File("train.bin"), bytes[..^2]);

        var e = Assert.Throws<InvalidDataException>(() => TokenFile.Read(dir.File("train.bin")));
        Assert.Contains("truncated", e.Message);
    }
}
