namespace Gmsa.Engine.Text;

/// <summary>
/// GPT-2's reversible byte-to-character map used by byte-level BPE (GPT-2, LLaMA-3, Qwen2):
/// every byte becomes one printable character, so vocabularies and merges are plain strings.
/// Printable Latin-1 bytes map to themselves; the other 68 bytes map to U+0100 upward in byte
/// order (space 0x20 becomes 'Ġ' U+0120, newline 0x0A becomes 'Ċ' U+010A).
/// </summary>
public static class ByteLevelAlphabet
{
    private static readonly char[] ByteToCharTable = BuildByteToChar();
    private static readonly Dictionary<char, byte> CharToByteTable = BuildCharToByte();

    /// <summary>The character that stands for byte <paramref name="b"/> in vocab and merge strings.</summary>
    public static char ByteToChar(byte b) => ByteToCharTable[b];

    /// <summary>The byte a vocabulary character stands for, or false when it is outside the alphabet.</summary>
    public static bool TryCharToByte(char c, out byte b) => CharToByteTable.TryGetValue(c, out b);

    /// <summary>Maps text to its byte-level spelling (UTF-8 bytes, each as one alphabet character).</summary>
    public static string Encode(string text)
    {
        byte[] bytes = System.Text.Encoding.UTF8.GetBytes(text);
        var chars = new char[bytes.Length];
        for (int i = 0; i < bytes.Length; i++) chars[i] = ByteToCharTable[bytes[i]];
        return new string(chars);
    }

    private static char[] BuildByteToChar()
    {
        var map = new char[256];
        int next = 0;
        for (int b = 0; b < 256; b++)
        {
            bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            map[b] = printable ? (char)b : (char)(256 + next++);
        }
        return map;
    }

    private static Dictionary<char, byte> BuildCharToByte()
    {
        var inverse = new Dictionary<char, byte>(256);
        for (int b = 0; b < 256; b++) inverse[ByteToCharTable[b]] = (byte)b;
        return inverse;
    }
}
