using System.Buffers.Binary;
using System.Text;

namespace Gmsa.Engine.Corpus;

/// <summary>
/// Reads R's serialization format (what saveRDS and lazy-load databases hold), XDR flavour ("X\n",
/// big-endian), versions 2 and 3, for the data types in <see cref="RValue"/>. Each item opens with a
/// packed int: type in the low byte, then object/attribute/tag bits, and the CHARSXP encoding in the
/// "levels" above bit 12. Closures, environments, ALTREP and the like are refused by name.
/// </summary>
public sealed class RSerialization
{
    // SEXP types (R's Rinternals.h) and the pseudo-types serialize.c adds for sharing and singletons.
    const int SymSxp = 1, ListSxp = 2, CharSxp = 9, LglSxp = 10, IntSxp = 13, RealSxp = 14, StrSxp = 16,
        VecSxp = 19, ExprSxp = 20, RawSxp = 24;
    const int RefSxp = 255, NilValueSxp = 254, GlobalEnvSxp = 253, UnboundValueSxp = 252, MissingArgSxp = 251,
        BaseNamespaceSxp = 250, EmptyEnvSxp = 242, BaseEnvSxp = 241;
    const int HasAttrBit = 1 << 9, HasTagBit = 1 << 10, Latin1Level = 1 << 2;

    readonly byte[] _data;
    int _pos;
    readonly List<RValue> _refs = [];   // symbols (and environments, unsupported) in order of first appearance

    RSerialization(byte[] data) => _data = data;

    /// <summary>Deserializes one object; the data must be uncompressed.</summary>
    public static RValue Read(byte[] data)
    {
        var reader = new RSerialization(data);
        reader.ReadHeader();
        return reader.ReadItem();
    }

    void ReadHeader()
    {
        if (_data.Length < 2 || _data[0] != 'X' || _data[1] != '\n')
            throw new InvalidDataException(_data.Length >= 2 && _data[0] is (byte)'A' or (byte)'B'
                ? "R serialization is in ASCII or native binary form; only XDR (\"X\\n\") is supported"
                : "not an R serialization (no \"X\\n\" header)");
        _pos = 2;
        int version = ReadInt();
        ReadInt();                                   // R version that wrote it
        ReadInt();                                   // oldest R version that can read it
        if (version == 3)
        {
            int nameLength = ReadInt();                 // native encoding name, e.g. "UTF-8"
            _pos += Length(nameLength);
        }
        else if (version != 2) throw new InvalidDataException($"R serialization version {version} is not supported (2 or 3)");
    }

    RValue ReadItem()
    {
        int flags = ReadInt();
        int type = flags & 0xFF;
        switch (type)
        {
            case NilValueSxp: return RNull.Instance;
            case GlobalEnvSxp: return new RSpecial("globalenv");
            case EmptyEnvSxp: return new RSpecial("emptyenv");
            case BaseEnvSxp: return new RSpecial("baseenv");
            case BaseNamespaceSxp: return new RSpecial("base namespace");
            case UnboundValueSxp: return new RSpecial("unbound value");
            case MissingArgSxp: return new RSpecial("missing argument");
            case RefSxp:
                int index = flags >> 8 is var packed and not 0 ? packed : ReadInt();
                if (index < 1 || index > _refs.Count) throw new InvalidDataException($"R serialization refers to item {index} of {_refs.Count}");
                return _refs[index - 1];
            case SymSxp:
                var symbol = new RSymbol(ReadItem() is RStrings { Values: [{ } name] } ? name : throw Corrupt("a symbol without a name"));
                _refs.Add(symbol);
                return symbol;
            case ListSxp: return ReadPairList(flags);
            case CharSxp: return new RStrings([ReadCharacters(flags)]);
        }

        if (type is not (StrSxp or IntSxp or LglSxp or RealSxp or RawSxp or VecSxp or ExprSxp))
            throw new NotSupportedException($"R object type {type} ({TypeName(type)}) is not supported by this reader");
        long length = ReadLength();
        RValue value = type switch
        {
            StrSxp => new RStrings(Repeat(length, () => ReadItem() is RStrings { Values: [var s] } ? s : throw Corrupt("a string that is not a CHARSXP"))),
            IntSxp => new RIntegers(Repeat(length, ReadInt)),
            LglSxp => new RLogicals(Repeat(length, ReadInt)),
            RealSxp => new RReals(Repeat(length, () => BitConverter.Int64BitsToDouble(ReadLong()))),
            RawSxp => new RRaw(ReadBytes(length)),
            VecSxp or ExprSxp => new RList(Repeat(length, ReadItem)),
            _ => throw new InvalidOperationException("unreachable: vector types are checked above"),
        };
        return (flags & HasAttrBit) != 0 ? value with { Attributes = ReadAttributes() } : value;
    }

    // Each cell: [attributes] [tag] car, then the cdr, which is the next cell or NULL; read as a loop, not recursion.
    RPairList ReadPairList(int flags)
    {
        var cells = new List<RTagged>();
        IReadOnlyList<RTagged> attributes = [];
        while (true)
        {
            if ((flags & HasAttrBit) != 0)
            {
                IReadOnlyList<RTagged> cellAttributes = ReadAttributes();
                if (cells.Count == 0) attributes = cellAttributes;   // later cells' attributes mean nothing for data
            }
            string? tag = (flags & HasTagBit) != 0 ? TagName(ReadItem()) : null;
            cells.Add(new RTagged(tag, ReadItem()));
            int next = PeekInt();
            if ((next & 0xFF) != ListSxp) break;
            flags = ReadInt();
        }
        if (ReadItem() is not RNull) throw Corrupt("a pairlist that does not end in NULL");
        return new RPairList(cells) { Attributes = attributes };
    }

    IReadOnlyList<RTagged> ReadAttributes() =>
        ReadItem() is RPairList list ? list.Cells : throw Corrupt("attributes that are not a pairlist");

    string? ReadCharacters(int flags)
    {
        int length = ReadInt();
        if (length == -1) return null;                 // NA_STRING
        int start = _pos;
        _pos += Length(length);
        Encoding encoding = ((flags >> 12) & Latin1Level) != 0 ? Encoding.Latin1 : Encoding.UTF8;
        return encoding.GetString(_data, start, length);
    }

    long ReadLength()
    {
        int length = ReadInt();
        if (length >= 0) return length;
        if (length != -1) throw Corrupt($"a negative length {length}");
        long upper = ReadInt(), lower = (uint)ReadInt();  // long vectors: two ints follow
        return (upper << 32) + lower;
    }

    T[] Repeat<T>(long length, Func<T> read)
    {
        if (length > (_data.Length - _pos)) throw Corrupt($"a vector of {length} items in {_data.Length - _pos} bytes");
        var items = new T[length];
        for (long i = 0; i < length; i++) items[i] = read();
        return items;
    }

    byte[] ReadBytes(long length)
    {
        int n = Length(length);
        byte[] bytes = _data.AsSpan(_pos, n).ToArray();
        _pos += n;
        return bytes;
    }

    int ReadInt()
    {
        int value = PeekInt();
        _pos += 4;
        return value;
    }

    int PeekInt() => _pos + 4 <= _data.Length
        ? BinaryPrimitives.ReadInt32BigEndian(_data.AsSpan(_pos))
        : throw Corrupt("data that ends in the middle of an item");

    long ReadLong()
    {
        if (_pos + 8 > _data.Length) throw Corrupt("data that ends in the middle of a double");
        long value = BinaryPrimitives.ReadInt64BigEndian(_data.AsSpan(_pos));
        _pos += 8;
        return value;
    }

    int Length(long length) => length >= 0 && length <= _data.Length - _pos
        ? (int)length
        : throw Corrupt($"{length} bytes where {_data.Length - _pos} remain");

    static string? TagName(RValue tag) => tag switch
    {
        RSymbol s => s.Name,
        RNull => null,
        _ => throw Corrupt("a tag that is not a symbol"),
    };

    static InvalidDataException Corrupt(string what) => new($"corrupt R serialization: {what}");

    static string TypeName(int type) => type switch
    {
        3 => "closure", 4 => "environment", 5 => "promise", 6 => "language", 7 => "special", 8 => "builtin",
        15 => "complex", 17 => "...", 21 => "bytecode", 22 => "external pointer", 23 => "weak reference", 25 => "S4",
        238 => "ALTREP", 239 => "attribute pairlist", 240 => "attribute language object", _ => "unknown",
    };
}
