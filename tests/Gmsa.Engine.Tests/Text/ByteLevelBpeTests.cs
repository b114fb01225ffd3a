using System.Text.Json.Nodes;
using Gmsa.Engine.Text;
using Xunit;

namespace Gmsa.Engine.Tests.Text;

public class ByteLevelBpeTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Encode_HandMergedWords_ReturnsHandComputedIds(bool mergesAsPairs)
    {
        using var folder = new TinyByteLevelTokenizer(mergesAsPairs);
        var tok = TextTokenizer.Load(folder.Dir);

        // hello: l+l, h+e, he+ll, hell+o; " the": h+e, Ġ+t, Ġt+he; " world": no merges, one id per byte.
        Assert.Equal([259, 261, 32, 119, 111, 114, 108, 100], tok.Encode("hello the world"));
    }

    [Fact]
    public void Encode_SpecialTokenString_EncodesToSingleId()
    {
        using var folder = new TinyByteLevelTokenizer();
        var tok = TextTokenizer.Load(folder.Dir);

        Assert.Equal([264], tok.Encode("<|im_end|>"));
        Assert.Equal([263, 259, 264, 10], tok.Encode("<|im_start|>hello<|im_end|>\n"));
    }

    [Fact]
    public void Load_TokenizerConfig_SetsSpecialIdsAndNoBos()
    {
        using var folder = new TinyByteLevelTokenizer();
        var tok = TextTokenizer.Load(folder.Dir);

        Assert.Null(tok.BosId);
        Assert.Equal(264, tok.EosId);
        Assert.Equal(262, tok.PadId);
        Assert.Equal(265, tok.VocabSize);
        Assert.False(tok.AddBosToken);
        Assert.Equal("Ġthe", tok.TokenText(261));
        Assert.Null(tok.TokenText(265));
        Assert.Equal([259], tok.Encode("hello", addBos: true));
        Assert.Equal([259, 264], tok.Encode("hello", addEos: true));
    }

    [Fact]
    public void Encode_TemplateProcessingBos_PrependsBosUnlessAsked()
    {
        var config = new JsonObject { ["bos_token"] = "<|begin_of_text|>", ["eos_token"] = "<|eot_id|>" };
        using var folder = new TinyByteLevelTokenizer(templateBos: "<|begin_of_text|>", tokenizerConfig: config,
            extraAddedTokens: ["<|begin_of_text|>", "<|eot_id|>"]);
        var tok = TextTokenizer.Load(folder.Dir);

        Assert.Equal(265, tok.BosId);
        Assert.Equal(266, tok.EosId);
        Assert.Equal([265, 259], tok.Encode("hello"));
        Assert.Equal([259], tok.Encode("hello", addBos: false));
    }

    [Theory]
    [InlineData("hello the world")]
    [InlineData("héllo wörld, ça va? 中文字符 and emoji 😀🎉 ✓")]
    [InlineData("  leading spaces, tabs\tand\r\nnewlines\n\n")]
    [InlineData("numbers 12345 and 'quotes' don't")]
    public void DecodeOfEncode_UnicodeText_ReturnsInput(string text)
    {
        using var folder = new TinyByteLevelTokenizer();
        var tok = TextTokenizer.Load(folder.Dir);

        Assert.Equal(text, tok.Decode(tok.Encode(text)));
    }

    [Fact]
    public void Encode_DecomposedAccent_NormalizedToNfc()
    {
        using var folder = new TinyByteLevelTokenizer();
        var tok = TextTokenizer.Load(folder.Dir);

        // "e" + U+0301 is NFC "é" (C3 A9): two byte ids, not the three of e + CC 81.
        Assert.Equal([0xC3, 0xA9], tok.Encode("e\u0301"));
        Assert.Equal("\u00e9", tok.Decode(tok.Encode("e\u0301")));
    }

    [Fact]
    public void Decode_SpecialTokens_SkippedUnlessAsked()
    {
        using var folder = new TinyByteLevelTokenizer();
        var tok = TextTokenizer.Load(folder.Dir);
        int[] ids = [263, 259, 264];

        Assert.Equal("hello", tok.Decode(ids));
        Assert.Equal("<|im_start|>hello<|im_end|>", tok.Decode(ids, skipSpecialTokens: false));
    }

    [Fact]
    public void StreamDecoder_CharSplitAcrossByteTokens_EmitsItWithLastByte()
    {
        using var folder = new TinyByteLevelTokenizer();
        var tok = TextTokenizer.Load(folder.Dir);
        IReadOnlyList<int> ids = tok.Encode("a中😀");
        Assert.Equal([0x61, 0xE4, 0xB8, 0xAD, 0xF0, 0x9F, 0x98, 0x80], ids);

        var stream = tok.CreateStreamDecoder();
        string[] pieces = ids.Select(stream.Push).ToArray();

        Assert.Equal(["a", "", "", "中", "", "", "", "😀"], pieces);
        Assert.Equal("", stream.Flush());
    }

    [Theory]
    [InlineData("héllo wörld, ça va? 中文字符 😀🎉 ✓ hello the world")]
    [InlineData("<|im_start|>hello<|im_end|>\n")]
    public void StreamDecoder_Concatenation_EqualsDecode(string text)
    {
        using var folder = new TinyByteLevelTokenizer();
        var tok = TextTokenizer.Load(folder.Dir);
        IReadOnlyList<int> ids = tok.Encode(text);

        foreach (bool skip in new[] { true, false })
        {
            var stream = tok.CreateStreamDecoder(skip);
            string streamed = string.Concat(ids.Select(stream.Push)) + stream.Flush();
            Assert.Equal(tok.Decode(ids, skip), streamed);
        }
    }

    [Fact]
    public void StreamDecoder_TruncatedCharacter_FlushEmitsReplacement()
    {
        using var folder = new TinyByteLevelTokenizer();
        var tok = TextTokenizer.Load(folder.Dir);
        int[] ids = [0x61, 0xE4, 0xB8]; // "a" and two of 中's three bytes

        var stream = tok.CreateStreamDecoder();
        Assert.Equal("a", string.Concat(ids.Select(stream.Push)));
        Assert.Equal("\uFFFD", stream.Flush());
        Assert.Equal("a\uFFFD", tok.Decode(ids));
    }

    [Fact]
    public void Load_WordPieceModel_ThrowsNotSupported()
    {
        string dir = Directory.CreateTempSubdirectory("gmsa-tok-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "tokenizer.json"),
                """{"model": {"type": "WordPiece", "vocab": {"[UNK]": 0}}, "pre_tokenizer": {"type": "BertPreTokenizer"}}""");

            var e = Assert.Throws<NotSupportedException>(() => TextTokenizer.Load(dir));
            Assert.Contains("WordPiece", e.Message);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void ByteLevelAlphabet_SpaceAndNewline_MapToGpt2Symbols()
    {
        Assert.Equal('Ġ', ByteLevelAlphabet.ByteToChar(0x20));
        Assert.Equal('Ċ', ByteLevelAlphabet.ByteToChar(0x0A));
        Assert.Equal('a', ByteLevelAlphabet.ByteToChar((byte)'a'));
        Assert.Equal(256, Enumerable.Range(0, 256).Select(b => ByteLevelAlphabet.ByteToChar((byte)b)).Distinct().Count());
    }
}
