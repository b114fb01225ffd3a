using Gmsa.Engine.Text;
using Xunit;
using Microsoft.ML.Tokenizers;

namespace Gmsa.Engine.Tests.Text;

public class SentencePieceTokenizerTests
{
    private const string Tok512 = "stories260k/tok512.model";
    private const string Llama2 = "llama2-tokenizer/tokenizer.model";
    private const string StoryLine = "Once upon a time, there was a little girl named Lily.";

    public static TheoryData<string, string> VariedText()
    {
        string[] texts =
        [
            StoryLine,
            "héllo wörld, ça va?",
            "中文字符 and emoji 😀🎉 ✓",
            "tabs\tand\nnewlines\n",
            "Mixed é中😀 end.",
        ];
        var data = new TheoryData<string, string>();
        foreach (string file in new[] { Tok512, Llama2 })
            foreach (string text in texts) data.Add(file, text);
        // tok512 sets remove_extra_whitespaces, so only LLaMA-2 keeps repeated spaces.
        data.Add(Llama2, "  two leading spaces,  double  and trailing  ");
        return data;
    }

    private static string FixtureOrSkip(string relative) =>
        Fixtures.Find(relative) ?? throw Skip($"fixture ../shared/fixtures/{relative} is not available");

    private static Exception Skip(string message)
    {
        Assert.Skip(message);
        return new InvalidOperationException("unreachable");
    }

    [Fact]
    public void Load_ModelFileThatIsNotSentencePiece_SaysSoNamingTheFile()
    {
        // llama2.c's tok512.bin passed where tok512.model belongs: the protobuf reader said only "invalid tag (zero)"
        using var dir = new Gmsa.Engine.Tests.TempDir();
        string path = dir.File("tokenizer.model");
        File.WriteAllBytes(path, new byte[64]);

        var e = Assert.Throws<InvalidDataException>(() => TextTokenizer.Load(path));
        Assert.StartsWith($"'{path}' is not a SentencePiece model (", e.Message);
    }

    [Fact]
    public void Encode_Tok512StoryLine_MatchesKnownIds()
    {
        var tok = TextTokenizer.Load(FixtureOrSkip(Tok512));

        Assert.Equal([1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426], tok.Encode(StoryLine));
        Assert.Equal(512, tok.VocabSize);
        Assert.Equal((1, 2, 0), (tok.BosId, tok.EosId, tok.UnkId));
        Assert.Null(tok.PadId);
    }

    [Fact]
    public void Encode_Llama2StoryLine_MatchesKnownIds()
    {
        var tok = TextTokenizer.Load(FixtureOrSkip(Llama2));

        Assert.Equal([1, 9038, 2501, 263, 931, 29892, 727, 471, 263, 2217, 7826, 4257, 365, 2354, 29889], tok.Encode(StoryLine));
        Assert.Equal(32000, tok.VocabSize);
        Assert.Equal("▁Once", tok.TokenText(9038));
    }

    [Fact]
    public void Encode_AddBosFalse_OmitsBosAndAddEosAppendsIt()
    {
        var tok = TextTokenizer.Load(FixtureOrSkip(Llama2));

        Assert.Equal([9038, 2501], tok.Encode("Once upon", addBos: false));
        Assert.Equal([1, 9038, 2501, 2], tok.Encode("Once upon", addEos: true));
    }

    [Fact]
    public void Encode_EmptyText_IsBosAloneOrNothing()
    {
        var tok = TextTokenizer.Load(FixtureOrSkip(Llama2));

        Assert.Equal([1], tok.Encode(""));
        Assert.Empty(tok.Encode("", addBos: false));
        Assert.Equal([1, 2], tok.Encode("", addEos: true));
    }

    [Theory]
    [MemberData(nameof(VariedText))]
    public void DecodeOfEncode_VariedText_ReturnsInput(string file, string text)
    {
        var tok = TextTokenizer.Load(FixtureOrSkip(file));

        Assert.Equal(text, tok.Decode(tok.Encode(text)));
    }

    [Theory]
    [MemberData(nameof(VariedText))]
    public void Decode_VariedText_MatchesPackageDecoder(string file, string text)
    {
        string path = FixtureOrSkip(file);
        var tok = TextTokenizer.Load(path);
        using var stream = File.OpenRead(path);
        var reference = LlamaTokenizer.Create(stream);
        IReadOnlyList<int> ids = tok.Encode(text);

        Assert.Equal(reference.Decode(ids), tok.Decode(ids));
        Assert.Equal(reference.Decode(ids, considerSpecialTokens: true), tok.Decode(ids, skipSpecialTokens: false));
    }

    [Theory]
    [MemberData(nameof(VariedText))]
    public void StreamDecoder_VariedText_ConcatenationEqualsDecode(string file, string text)
    {
        var tok = TextTokenizer.Load(FixtureOrSkip(file));
        IReadOnlyList<int> ids = tok.Encode(text);

        var stream = tok.CreateStreamDecoder();
        string streamed = string.Concat(ids.Select(stream.Push)) + stream.Flush();

        Assert.Equal(tok.Decode(ids), streamed);
        Assert.Equal(text, streamed);
    }

    [Fact]
    public void StreamDecoder_EmojiByteFallback_EmitsOnFourthByte()
    {
        var tok = TextTokenizer.Load(FixtureOrSkip(Llama2));
        IReadOnlyList<int> ids = tok.Encode("Hi 😀", addBos: false);
        // "▁Hi", "▁", then the emoji as four byte-fallback pieces <0xF0> <0x9F> <0x98> <0x80>.
        Assert.Equal(["▁Hi", "▁", "<0xF0>", "<0x9F>", "<0x98>", "<0x80>"], ids.Select(tok.TokenText));

        var stream = tok.CreateStreamDecoder();
        string[] pieces = ids.Select(stream.Push).ToArray();

        Assert.Equal(["Hi", " ", "", "", "", "😀"], pieces);
    }

    [Fact]
    public void StreamDecoder_FirstPieceAfterBos_LosesDummyPrefixSpaceOnly()
    {
        var tok = TextTokenizer.Load(FixtureOrSkip(Llama2));

        var stream = tok.CreateStreamDecoder();
        Assert.Equal(["", "Once", " upon"], new[] { 1, 9038, 2501 }.Select(stream.Push));

        var withSpecials = tok.CreateStreamDecoder(skipSpecialTokens: false);
        Assert.Equal(["<s>", "Once", " upon", "</s>"], new[] { 1, 9038, 2501, 2 }.Select(withSpecials.Push));
    }

    [Fact]
    public void Encode_Tok512RepeatedSpaces_CollapsedByItsNormalizer()
    {
        var tok = TextTokenizer.Load(FixtureOrSkip(Tok512));

        Assert.Equal("two words", tok.Decode(tok.Encode("  two  words ")));
    }

    [Fact]
    public void Load_FolderWithMetaspaceTokenizerJson_UsesTokenizerModel()
    {
        string model = FixtureOrSkip(Tok512);
        string dir = Directory.CreateTempSubdirectory("gmsa-tok-").FullName;
        try
        {
            // LLaMA-2's tokenizer.json is SentencePiece-style BPE (Metaspace, byte_fallback): not byte-level.
            File.WriteAllText(Path.Combine(dir, "tokenizer.json"),
                """{"model": {"type": "BPE", "vocab": {}, "merges": [], "byte_fallback": true}, "pre_tokenizer": {"type": "Metaspace"}}""");
            File.Copy(model, Path.Combine(dir, "tokenizer.model"));
            File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), """{"bos_token": {"content": "<s>"}, "eos_token": "</s>", "add_bos_token": false}""");

            var tok = TextTokenizer.Load(dir);

            Assert.Equal(512, tok.VocabSize);
            Assert.False(tok.AddBosToken);
            Assert.Equal([403, 407], tok.Encode("Once upon"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Load_TiktokenModelFile_ThrowsNotSupportedNamingTokenizerJson()
    {
        string dir = Directory.CreateTempSubdirectory("gmsa-tok-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "tokenizer.model"), "IQ== 0\nIg== 1\nIw== 2\n");

            var e = Assert.Throws<NotSupportedException>(() => TextTokenizer.Load(dir));
            Assert.Contains("tiktoken", e.Message);
            Assert.Contains("tokenizer.json", e.Message);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Decode_IdOutsideVocabulary_Throws()
    {
        var tok = TextTokenizer.Load(FixtureOrSkip(Tok512));

        Assert.Throws<ArgumentOutOfRangeException>(() => tok.Decode([512]));
    }
}
