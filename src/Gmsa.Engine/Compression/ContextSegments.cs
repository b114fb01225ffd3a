using Gmsa.Engine.Training;

namespace Gmsa.Engine.Compression;

/// <summary>
/// Contexts for the autoencoder, cut from a token file inside document boundaries (the file holds
/// [BOS] document [EOS] runs): each document is split into consecutive pieces whose lengths are drawn
/// from [min, max] by a generator seeded with the seed and the document's number, so the set is the same
/// every time. A piece shorter than min at a document's end is dropped. BOS and EOS never enter a context.
/// </summary>
public sealed class ContextSegments
{
    readonly ushort[] ids;
    readonly List<(long Start, int Length)> pieces = [];

    public ContextSegments(TokenStream stream, int bosId, int eosId, int minLength, int maxLength, long seed)
    {
        if (minLength < 1 || maxLength < minLength) throw new ArgumentException($"context lengths must satisfy 1 <= min <= max, got {minLength}..{maxLength}");
        ids = stream.Ids;
        long start = -1;
        int document = 0;
        for (long i = 0; i <= ids.LongLength; i++)
        {
            bool boundary = i == ids.LongLength || ids[i] == bosId || ids[i] == eosId;
            if (!boundary) { if (start < 0) start = i; continue; }
            if (start >= 0) Cut(start, i - start, document++, minLength, maxLength, seed);
            start = -1;
        }
        if (pieces.Count == 0) throw new ArgumentException($"no document of the stream holds {minLength} tokens");
    }

    void Cut(long start, long length, int document, int minLength, int maxLength, long seed)
    {
        var rng = new Random(unchecked((int)(seed * 7_919 + document)));
        for (long offset = 0; ;)
        {
            int size = rng.Next(minLength, maxLength + 1);
            if (offset + size > length) size = (int)Math.Min(maxLength, length - offset);
            if (size < minLength) return;
            pieces.Add((start + offset, size));
            offset += size;
        }
    }

    public int Count => pieces.Count;

    public int[] this[int index]
    {
        get
        {
            var (start, length) = pieces[index];
            var context = new int[length];
            for (int i = 0; i < length; i++) context[i] = ids[start + i];
            return context;
        }
    }
}
