using System.Runtime.InteropServices;
using System.Text;

namespace Gmsa.Engine.Text;

/// <summary>
/// Turns ids arriving one at a time (generation) into text as soon as it is complete. Tokens are
/// turned into UTF-8 bytes (SentencePiece pieces with '▁' as space and &lt;0xNN&gt; byte-fallback
/// pieces, byte-level BPE symbols through <see cref="ByteLevelAlphabet"/>) and fed to a stateful
/// UTF-8 decoder, so a character split across tokens comes out with the token that completes it.
/// The concatenation of every <see cref="Push"/> result and a final <see cref="Flush"/> equals
/// <see cref="TextTokenizer.Decode"/> of the same ids; when the ids end on a complete character,
/// Flush returns "". Not thread-safe: one decoder per sequence.
/// </summary>
public sealed class TokenStreamDecoder
{
    private readonly TextTokenizer _tokenizer;
    private readonly bool _skipSpecialTokens;
    private readonly Decoder _utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false).GetDecoder();
    private readonly List<byte> _bytes = new(16);
    private bool _seenText;

    internal TokenStreamDecoder(TextTokenizer tokenizer, bool skipSpecialTokens)
    {
        _tokenizer = tokenizer;
        _skipSpecialTokens = skipSpecialTokens;
    }

    /// <summary>The text that token <paramref name="id"/> completes; "" while a multi-byte character is still partial.</summary>
    public string Push(int id)
    {
        _bytes.Clear();
        _tokenizer.AppendTokenBytes(id, _skipSpecialTokens, ref _seenText, _bytes);
        return DecodeBytes(CollectionsMarshal.AsSpan(_bytes), flush: false);
    }

    /// <summary>Ends the stream: bytes of an unfinished character come out as U+FFFD.</summary>
    public string Flush() => DecodeBytes([], flush: true);

    /// <summary>Starts a new stream (the next piece again loses SentencePiece's dummy-prefix space).</summary>
    public void Reset()
    {
        _utf8.Reset();
        _seenText = false;
    }

    private string DecodeBytes(ReadOnlySpan<byte> bytes, bool flush)
    {
        int count = _utf8.GetCharCount(bytes, flush);
        if (count == 0)
        {
            // Still feed the bytes so the decoder keeps a partial sequence for the next token.
            _utf8.GetChars(bytes, Span<char>.Empty, flush);
            return "";
        }
        Span<char> chars = count <= 256 ? stackalloc char[count] : new char[count];
        int written = _utf8.GetChars(bytes, chars, flush);
        return new string(chars[..written]);
    }
}
