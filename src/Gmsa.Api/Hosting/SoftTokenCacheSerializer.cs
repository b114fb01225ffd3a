using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Gmsa.Engine.Compression;
using Microsoft.Extensions.Caching.Hybrid;

namespace Gmsa.Api.Hosting;

/// <summary>
/// Soft tokens in the cache as a 24-byte header and their raw bytes: what HybridCache keeps in process (sized for the
/// byte bound) and what Redis stores. The default JSON serializer wrote the bytes as base64, a third larger, and parsed
/// that text on every in-process hit.
/// </summary>
/// <remarks>Layout, little-endian: "GMS1", count, dimension, context tokens, rate (int32 each), dtype (0 bfloat16,
/// 1 float32, int32), then count x dimension values.</remarks>
public sealed class SoftTokenCacheSerializer : IHybridCacheSerializer<SoftTokenData>
{
    static ReadOnlySpan<byte> Magic => "GMS1"u8;
    const int HeaderBytes = 24;

    public void Serialize(SoftTokenData value, IBufferWriter<byte> target)
    {
        var header = target.GetSpan(HeaderBytes)[..HeaderBytes];
        Magic.CopyTo(header);
        BinaryPrimitives.WriteInt32LittleEndian(header[4..], value.Count);
        BinaryPrimitives.WriteInt32LittleEndian(header[8..], value.Dimension);
        BinaryPrimitives.WriteInt32LittleEndian(header[12..], value.ContextTokens);
        BinaryPrimitives.WriteInt32LittleEndian(header[16..], value.Rate);
        BinaryPrimitives.WriteInt32LittleEndian(header[20..], value.Dtype switch
        {
            "bfloat16" => 0,
            "float32" => 1,
            var other => throw new NotSupportedException($"soft tokens in {other}"),
        });
        target.Advance(HeaderBytes);
        target.Write(value.Raw);
    }

    public SoftTokenData Deserialize(ReadOnlySequence<byte> source)
    {
        Span<byte> header = stackalloc byte[HeaderBytes];
        if (source.Length < HeaderBytes) throw new InvalidDataException("cached soft tokens: shorter than their header");
        source.Slice(0, HeaderBytes).CopyTo(header);
        if (!header[..4].SequenceEqual(Magic)) throw new InvalidDataException($"cached soft tokens: unknown layout '{Encoding.ASCII.GetString(header[..4])}'");
        int count = BinaryPrimitives.ReadInt32LittleEndian(header[4..]);
        int dimension = BinaryPrimitives.ReadInt32LittleEndian(header[8..]);
        int contextTokens = BinaryPrimitives.ReadInt32LittleEndian(header[12..]);
        int rate = BinaryPrimitives.ReadInt32LittleEndian(header[16..]);
        var (dtype, width) = BinaryPrimitives.ReadInt32LittleEndian(header[20..]) switch
        {
            0 => ("bfloat16", 2),
            1 => ("float32", 4),
            var code => throw new InvalidDataException($"cached soft tokens: unknown dtype code {code}"),
        };
        long expected = HeaderBytes + (long)count * dimension * width;
        if (count < 0 || dimension < 0 || source.Length != expected)
            throw new InvalidDataException($"cached soft tokens: {source.Length} bytes where [{count}, {dimension}] {dtype} needs {expected}");
        return new SoftTokenData(count, dimension, dtype, source.Slice(HeaderBytes).ToArray(), contextTokens, rate);
    }
}
