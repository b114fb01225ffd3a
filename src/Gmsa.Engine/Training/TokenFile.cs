using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;

namespace Gmsa.Engine.Training;

/// <summary>
/// A tokenized split as one flat stream of ids, nanoGPT's train.bin with a header so that a file
/// read with the wrong tokenizer or cut short is refused instead of trained on:
/// "GMSATOK1" | vocab size (int32 LE) | token count (int64 LE) | ids (uint16 LE).
/// Documents are concatenated as [BOS] tokens [EOS], so a window may cross a document boundary
/// and the model learns where documents end.
/// </summary>
public static class TokenFile
{
    static readonly byte[] Magic = Encoding.ASCII.GetBytes("GMSATOK1");
    const int HeaderBytes = 8 + 4 + 8;

    /// <summary>Writes the ids atomically (a temporary file moved into place when complete).</summary>
    public static void Write(string path, ReadOnlySpan<ushort> ids, int vocabSize)
    {
        if (vocabSize is <= 0 or > ushort.MaxValue + 1)
            throw new ArgumentOutOfRangeException(nameof(vocabSize), $"vocab size {vocabSize} does not fit uint16 ids");
        Span<byte> header = stackalloc byte[HeaderBytes];
        Magic.CopyTo(header);
        BinaryPrimitives.WriteInt32LittleEndian(header[8..], vocabSize);
        BinaryPrimitives.WriteInt64LittleEndian(header[12..], ids.Length);
        string tmp = path + ".tmp";
        try
        {
            using (var stream = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
            {
                stream.Write(header);
                stream.Write(MemoryMarshal.AsBytes(ids)); // little-endian hosts only, as libtorch itself
                stream.Flush(flushToDisk: true);
            }
            File.Move(tmp, path, overwrite: true);
        }
        catch
        {
            File.Delete(tmp);
            throw;
        }
    }

    /// <summary>Reads a whole file; the caller's vocab size, when given, must match the header's.</summary>
    public static TokenStream Read(string path, int? expectedVocabSize = null)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"token file '{path}' does not exist: make one from a corpus with `gmsa data encode`", path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        Span<byte> header = stackalloc byte[HeaderBytes];
        if (stream.ReadAtLeast(header, HeaderBytes, throwOnEndOfStream: false) < HeaderBytes || !header[..8].SequenceEqual(Magic))
            throw new InvalidDataException($"{path} is not a Gmsa token file (no GMSATOK1 header)");
        int vocab = BinaryPrimitives.ReadInt32LittleEndian(header[8..]);
        long count = BinaryPrimitives.ReadInt64LittleEndian(header[12..]);
        if (expectedVocabSize is { } v && v != vocab)
            throw new InvalidDataException($"{path} was tokenized with a vocab of {vocab}, the model has {v}");
        if (count < 0 || stream.Length != HeaderBytes + count * sizeof(ushort))
            throw new InvalidDataException($"{path} is truncated or padded: header says {count} tokens, file holds {(stream.Length - HeaderBytes) / 2}");
        var ids = new ushort[count];
        stream.ReadExactly(MemoryMarshal.AsBytes(ids.AsSpan()));
        foreach (ushort id in ids)
            if (id >= vocab) throw new InvalidDataException($"{path} holds id {id}, outside its vocab of {vocab}");
        return new TokenStream(ids, vocab);
    }
}

/// <summary>A split loaded in memory: the ids and the vocab they were made with.</summary>
public sealed record TokenStream(ushort[] Ids, int VocabSize)
{
    public long Count => Ids.LongLength;
}
