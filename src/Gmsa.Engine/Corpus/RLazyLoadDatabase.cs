using System.Buffers.Binary;
using System.IO.Compression;

namespace Gmsa.Engine.Corpus;

/// <summary>
/// An R lazy-load database, the form an installed package's data/Rdata.rdb + Rdata.rdx take. The
/// .rdx is a serialized list(variables = list(name = c(offset, length)), references, compressed),
/// stored gzip-compressed (or, in older files, as a 4-byte big-endian length and a zlib stream). Each
/// .rdb entry at (offset, length) is the same 4-byte length and a zlib stream of one serialized object.
/// </summary>
public sealed class RLazyLoadDatabase
{
    readonly string _rdbPath;
    readonly Dictionary<string, (long Offset, int Length)> _index;

    RLazyLoadDatabase(string rdbPath, Dictionary<string, (long, int)> index)
    {
        _rdbPath = rdbPath;
        _index = index;
    }

    /// <summary>Object names in the database, in index order.</summary>
    public IReadOnlyCollection<string> Names => _index.Keys;

    /// <summary>Opens "<paramref name="basePath"/>.rdx" / ".rdb" (e.g. ".../data/Rdata").</summary>
    public static RLazyLoadDatabase Open(string basePath)
    {
        string rdx = basePath + ".rdx", rdb = basePath + ".rdb";
        foreach (string path in new[] { rdx, rdb })
            if (!File.Exists(path)) throw new FileNotFoundException($"R lazy-load database file not found: {path}");
        try
        {
            RValue root = RSerialization.Read(Inflate(File.ReadAllBytes(rdx)));
            if (root is not RList list || list.Item("variables") is not RList variables || variables.Names is not { } names)
                throw new InvalidDataException("the index is not list(variables = list(...), ...)");
            // TRUE means zlib; 2 and 3 (bzip2, xz) would need decompressors .NET does not ship.
            if (list.Item("compressed") is not (null or RLogicals { Values: [1] }))
                throw new NotSupportedException("only zlib-compressed lazy-load databases are supported (compressed = TRUE)");
            var index = new Dictionary<string, (long, int)>(StringComparer.Ordinal);
            for (int i = 0; i < variables.Items.Length; i++)
                index[names[i] ?? throw new InvalidDataException($"variable {i + 1} has no name")] = Position(names[i]!, variables.Items[i]);
            return new RLazyLoadDatabase(rdb, index);
        }
        catch (Exception e) when (e is InvalidDataException or NotSupportedException)
        {
            throw new InvalidDataException($"{rdx}: {e.Message}", e);
        }
    }

    /// <summary>Reads and deserializes one object.</summary>
    public RValue Read(string name)
    {
        if (!_index.TryGetValue(name, out var at))
            throw new KeyNotFoundException($"{_rdbPath} has no object '{name}' (it has {string.Join(", ", _index.Keys)})");
        using var stream = File.OpenRead(_rdbPath);
        if (at.Offset + at.Length > stream.Length)
            throw new InvalidDataException($"{_rdbPath}: object '{name}' at {at.Offset}+{at.Length} lies past the end of the file ({stream.Length} bytes)");
        var blob = new byte[at.Length];
        stream.Position = at.Offset;
        stream.ReadExactly(blob);
        try
        {
            return RSerialization.Read(Inflate(blob));
        }
        catch (Exception e) when (e is InvalidDataException or NotSupportedException)
        {
            throw new InvalidDataException($"{_rdbPath}: object '{name}': {e.Message}", e);
        }
    }

    /// <summary>A character vector held in the database, e.g. a novel as lines.</summary>
    public string?[] ReadStrings(string name) => Read(name) is RStrings s
        ? s.Values
        : throw new InvalidDataException($"{_rdbPath}: object '{name}' is not a character vector");

    /// <summary>gzip (what R writes for .rdx files) or a 4-byte big-endian length then zlib (each .rdb entry).</summary>
    internal static byte[] Inflate(byte[] data)
    {
        if (data.Length >= 2 && data[0] == 0x1F && data[1] == 0x8B)
        {
            using var gzip = new GZipStream(new MemoryStream(data), CompressionMode.Decompress);
            var output = new MemoryStream();
            gzip.CopyTo(output);
            return output.ToArray();
        }
        if (data.Length < 6) throw new InvalidDataException("compressed entry is too short");
        int length = BinaryPrimitives.ReadInt32BigEndian(data);
        var result = new byte[length];
        try
        {
            using var zlib = new ZLibStream(new MemoryStream(data, 4, data.Length - 4), CompressionMode.Decompress);
            zlib.ReadExactly(result);
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException)
        {
            throw new InvalidDataException($"zlib stream is corrupt or shorter than its stated {length} bytes", e);
        }
        return result;
    }

    static (long, int) Position(string name, RValue entry) => entry switch
    {
        RIntegers { Values: [var offset, var length] } => (offset, length),
        RReals { Values: [var offset, var length] } => ((long)offset, (int)length),
        _ => throw new InvalidDataException($"index entry '{name}' is not c(offset, length)"),
    };
}
