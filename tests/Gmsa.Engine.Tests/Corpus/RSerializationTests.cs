using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using Gmsa.Engine.Corpus;

namespace Gmsa.Engine.Tests.Corpus;

public class RSerializationTests
{
    // Packed flags as R's serialize.c writes them: type | object bit 8 | attribute bit 9 | tag bit 10 | levels << 12.
    const int Sym = 1, List = 2, CharAscii = 9 | (64 << 12), CharUtf8 = 9 | (8 << 12), Lgl = 10, Int = 13, Real = 14,
        Str = 16, Vec = 19, Nil = 254, WithAttr = 1 << 9, WithTag = 1 << 10;

    /// <summary>A hand-written XDR serialization, item by item, so the test does not depend on R.</summary>
    sealed class Xdr
    {
        readonly MemoryStream _bytes = new();

        public Xdr Header(int version)
        {
            _bytes.Write("X\n"u8);
            Int32(version).Int32(0x00040201).Int32(0x00030500);
            if (version == 3) Int32(5).Raw("UTF-8"u8);
            return this;
        }

        public Xdr Int32(int value)
        {
            Span<byte> b = stackalloc byte[4];
            BinaryPrimitives.WriteInt32BigEndian(b, value);
            _bytes.Write(b);
            return this;
        }

        public Xdr Double(double value)
        {
            Span<byte> b = stackalloc byte[8];
            BinaryPrimitives.WriteDoubleBigEndian(b, value);
            _bytes.Write(b);
            return this;
        }

        public Xdr Raw(ReadOnlySpan<byte> bytes)
        {
            _bytes.Write(bytes);
            return this;
        }

        public Xdr Chars(string? s, bool utf8 = false)
        {
            if (s is null) return Int32(9).Int32(-1);   // NA_STRING
            byte[] b = Encoding.UTF8.GetBytes(s);
            return Int32(utf8 ? CharUtf8 : CharAscii).Int32(b.Length).Raw(b);
        }

        /// <summary>A new symbol (added to the reader's reference table), or a reference to the n-th one.</summary>
        public Xdr Symbol(string name) => Int32(Sym).Chars(name);
        public Xdr SymbolRef(int index) => Int32((index << 8) | 255);

        public Xdr Strings(params string?[] values)
        {
            Int32(Str).Int32(values.Length);
            foreach (string? v in values) Chars(v, utf8: v is not null && v.Any(c => c > 127));
            return this;
        }

        public byte[] ToArray() => _bytes.ToArray();
    }

    /// <summary>c(first = "It is a truth", second = NA, third = "Émma") with R 3's header.</summary>
    static byte[] NamedCharacterVector() => new Xdr().Header(3)
        .Int32(Str | WithAttr).Int32(3).Chars("It is a truth").Chars(null).Chars("Émma", utf8: true)
        .Int32(List | WithTag).Symbol("names").Strings("first", "second", "third").Int32(Nil)
        .ToArray();

    [Fact]
    public void Read_NamedCharacterVector_ReturnsValuesNaAndNames()
    {
        var value = Assert.IsType<RStrings>(RSerialization.Read(NamedCharacterVector()));

        Assert.Equal(Seq("It is a truth", null, "Émma"), Seq(value.Values));
        Assert.Equal(Seq("first", "second", "third"), Seq(value.Names!));
    }

    [Fact]
    public void Read_Version2ListOfNumbers_ReadsEachVectorType()
    {
        byte[] data = new Xdr().Header(2)
            .Int32(Vec).Int32(3)
            .Int32(Int).Int32(2).Int32(7).Int32(int.MinValue)
            .Int32(Real).Int32(2).Double(0.5).Double(-1e300)
            .Int32(Lgl).Int32(1).Int32(1)
            .ToArray();

        var list = Assert.IsType<RList>(RSerialization.Read(data));

        Assert.Equal([7, int.MinValue], Assert.IsType<RIntegers>(list.Items[0]).Values);
        Assert.Equal([0.5, -1e300], Assert.IsType<RReals>(list.Items[1]).Values);
        Assert.Equal([1], Assert.IsType<RLogicals>(list.Items[2]).Values);
    }

    [Fact]
    public void Read_TruncatedData_ThrowsInvalidData()
    {
        byte[] data = NamedCharacterVector();

        var e = Assert.Throws<InvalidDataException>(() => RSerialization.Read(data[..(data.Length - 7)]));
        Assert.Contains("corrupt R serialization", e.Message);
    }

    [Fact]
    public void Read_Closure_IsRefusedByName()
    {
        byte[] data = new Xdr().Header(3).Int32(3).ToArray();

        var e = Assert.Throws<NotSupportedException>(() => RSerialization.Read(data));
        Assert.Contains("closure", e.Message);
    }

    [Fact]
    public void Read_AsciiFormat_IsRefusedWithReason()
    {
        var e = Assert.Throws<InvalidDataException>(() => RSerialization.Read("A\n3\n"u8.ToArray()));
        Assert.Contains("XDR", e.Message);
    }

    [Fact]
    public void LazyLoadDatabase_HandBuiltRdbAndRdx_ReadsObjectsBackByName()
    {
        using var dir = new TempDir();
        string basePath = dir.File("Rdata");
        byte[] novel = new Xdr().Header(3).Strings("CHAPTER 1", "", "It is a truth universally acknowledged,").ToArray();
        byte[] whale = NamedCharacterVector();
        byte[] first = Entry(novel), second = Entry(whale);
        File.WriteAllBytes(basePath + ".rdb", [.. first, .. second]);
        File.WriteAllBytes(basePath + ".rdx", Gzip(Index(("novel", 0, first.Length), ("whale", first.Length, second.Length))));

        var db = RLazyLoadDatabase.Open(basePath);

        Assert.Equal(["novel", "whale"], db.Names);
        Assert.Equal(Seq("CHAPTER 1", "", "It is a truth universally acknowledged,"), Seq(db.ReadStrings("novel")));
        Assert.Equal("Émma", db.ReadStrings("whale")[2]);
    }

    [Fact]
    public void LazyLoadDatabase_CorruptEntry_ThrowsNamingTheObject()
    {
        using var dir = new TempDir();
        string basePath = dir.File("Rdata");
        byte[] entry = Entry(NamedCharacterVector());
        entry[^3] ^= 0xFF;                                  // breaks the zlib stream's checksum or data
        File.WriteAllBytes(basePath + ".rdb", entry);
        File.WriteAllBytes(basePath + ".rdx", Gzip(Index(("emma", 0, entry.Length))));

        var e = Assert.Throws<InvalidDataException>(() => RLazyLoadDatabase.Open(basePath).Read("emma"));
        Assert.Contains("'emma'", e.Message);
    }

    [Fact]
    public void LazyLoadDatabase_MissingFiles_ThrowsFileNotFound()
    {
        using var dir = new TempDir();

        Assert.Throws<FileNotFoundException>(() => RLazyLoadDatabase.Open(dir.File("Rdata")));
    }

    // Character vectors hold nullable strings (NA); compared as sequences.
    static IEnumerable<string?> Seq(params string?[] values) => values;

    /// <summary>An .rdb entry: 4-byte big-endian uncompressed length, then a zlib stream.</summary>
    static byte[] Entry(byte[] serialized)
    {
        var output = new MemoryStream();
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(length, serialized.Length);
        output.Write(length);
        using (var zlib = new ZLibStream(output, CompressionLevel.Optimal, leaveOpen: true)) zlib.Write(serialized);
        return output.ToArray();
    }

    /// <summary>The .rdx list(variables = list(name = c(offset, length)), references = list(), compressed = TRUE).</summary>
    static byte[] Index(params (string Name, int Offset, int Length)[] objects)
    {
        var x = new Xdr().Header(3).Int32(Vec | WithAttr).Int32(3);
        x.Int32(Vec | WithAttr).Int32(objects.Length);
        foreach (var o in objects) x.Int32(Int).Int32(2).Int32(o.Offset).Int32(o.Length);
        x.Int32(List | WithTag).Symbol("names").Strings(objects.Select(o => o.Name).ToArray()).Int32(Nil);
        x.Int32(Vec).Int32(0);                              // references
        x.Int32(Lgl).Int32(1).Int32(1);                     // compressed = TRUE
        x.Int32(List | WithTag).SymbolRef(1).Strings("variables", "references", "compressed").Int32(Nil);
        return x.ToArray();
    }

    static byte[] Gzip(byte[] data)
    {
        var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Optimal, leaveOpen: true)) gzip.Write(data);
        return output.ToArray();
    }
}
