using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace Gmsa.Engine.Checkpoints;

/// <summary>
/// The safetensors format, which TorchSharp lacks: an 8-byte little-endian header length, a JSON
/// header {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}} padded with
/// spaces to a multiple of 8, then each tensor's raw little-endian bytes.
/// </summary>
public static class SafeTensors
{
    const string MetadataKey = "__metadata__";
    // The Python library refuses larger headers; one this big means a wrong file, not a big model.
    const long MaxHeaderBytes = 100_000_000;

    /// <summary>
    /// Loads every tensor (or those whose name passes <paramref name="include"/>, the rest left unread) onto the
    /// CPU, reading the file straight into tensor storage.
    /// </summary>
    public static Dictionary<string, Tensor> Load(string path, Func<string, bool>? include = null) =>
        Load(path, ParseHeader(path), include);

    /// <summary>As <see cref="Load(string, Func{string, bool}?)"/>, with the header the caller parsed already (to check its metadata first).</summary>
    internal static Dictionary<string, Tensor> Load(string path, Header header, Func<string, bool>? include = null)
    {
        using var file = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        var tensors = new Dictionary<string, Tensor>(header.Tensors.Count);
        try
        {
            // In file order, so reads run forward through the file.
            foreach (var (name, info) in header.Tensors.Where(kv => include?.Invoke(kv.Key) ?? true).OrderBy(kv => kv.Value.DataBegin))
            {
                SafeTensorDtype.TryParse(info.Dtype, out var type, out _);
                var t = torch.empty(info.Shape, type);
                tensors.Add(name, t);
                TensorBytes.Read(file, t, header.DataStart + info.DataBegin, path);
            }
        }
        catch
        {
            foreach (var t in tensors.Values) t.Dispose();
            throw;
        }
        return tensors;
    }

    /// <summary>The tensor entries of the header, validated as <see cref="Load"/> validates them, without reading data.</summary>
    public static IReadOnlyDictionary<string, SafeTensorInfo> ReadHeader(string path) => ParseHeader(path).Tensors;

    /// <summary>The header's "__metadata__" map (empty when absent).</summary>
    public static IReadOnlyDictionary<string, string> ReadMetadata(string path) => ParseHeader(path).Metadata;

    /// <summary>
    /// Writes the tensors sorted by name. The file appears atomically: it is written to
    /// <c>path + ".tmp"</c> and moved over <paramref name="path"/> only when complete.
    /// </summary>
    public static void Save(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        // Frees the contiguous CPU copies made here; the caller's tensors stay alive.
        using var scope = torch.NewDisposeScope();
        var entries = new SortedDictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, t) in tensors)
        {
            if (name == MetadataKey) throw new ArgumentException($"'{MetadataKey}' is reserved and cannot name a tensor", nameof(tensors));
            if (!entries.TryAdd(name, t.detach().contiguous().cpu()))
                throw new ArgumentException($"tensor '{name}' appears twice", nameof(tensors));
        }
        byte[] header = HeaderBytes(entries.Select(e => (e.Key, SafeTensorDtype.NameOf(e.Value.dtype), e.Value.shape, e.Value.numel() * e.Value.ElementSize)), metadata);

        // Checked here: FileStream would name the temporary file, which the caller never asked for.
        if (Path.GetDirectoryName(Path.GetFullPath(path)) is { } folder && !Directory.Exists(folder))
            throw new DirectoryNotFoundException($"cannot write '{path}': the folder '{folder}' does not exist");
        string tmp = path + ".tmp";
        try
        {
            using (var stream = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
            {
                Span<byte> length = stackalloc byte[8];
                BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
                stream.Write(length);
                stream.Write(header);
                foreach (var t in entries.Values) TensorBytes.Write(stream, t);
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

    /// <summary>
    /// The JSON header (without its 8-byte length) for tensors laid out one after another in the given order, padded so
    /// the data that follows starts 8-byte aligned, as the Python library does. <c>Dtype</c> is the file's name
    /// ("BF16", "F32", ...), <c>Bytes</c> each tensor's data length.
    /// </summary>
    public static byte[] HeaderBytes(IEnumerable<(string Name, string Dtype, long[] Shape, long Bytes)> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            if (metadata is not null)
            {
                json.WriteStartObject(MetadataKey);
                foreach (var (k, v) in metadata) json.WriteString(k, v);
                json.WriteEndObject();
            }
            long offset = 0;
            foreach (var (name, dtype, shape, bytes) in tensors)
            {
                json.WriteStartObject(name);
                json.WriteString("dtype", dtype);
                json.WriteStartArray("shape");
                foreach (long d in shape) json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + bytes);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += bytes;
            }
            json.WriteEndObject();
        }
        int padded = (buffer.WrittenCount + 7) / 8 * 8;
        var header = new byte[padded];
        buffer.WrittenSpan.CopyTo(header);
        header.AsSpan(buffer.WrittenCount).Fill((byte)' ');
        return header;
    }

    internal sealed record Header(
        long DataStart, IReadOnlyDictionary<string, SafeTensorInfo> Tensors, IReadOnlyDictionary<string, string> Metadata);

    internal static Header ParseHeader(string path)
    {
        // Checked first: the OS's "Could not find a part of the path" does not say what the file was to be.
        if (!File.Exists(path)) throw new FileNotFoundException($"safetensors file '{path}' does not exist", path);
        using var file = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        long fileLength = RandomAccess.GetLength(file);
        Span<byte> lengthBytes = stackalloc byte[8];
        if (fileLength < 8 || RandomAccess.Read(file, lengthBytes, 0) != 8)
            throw NotSafetensors(path, $"{fileLength} bytes: too short for the 8-byte header length that begins one");
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(lengthBytes);
        if (headerLength > MaxHeaderBytes || (long)headerLength > fileLength - 8)
            throw NotSafetensors(path, $"its first 8 bytes give a {headerLength}-byte header, but the file has {fileLength} bytes");

        var json = new byte[headerLength];
        for (int done = 0; done < json.Length;)
            done += RandomAccess.Read(file, json.AsSpan(done), 8 + done) is > 0 and var n
                ? n : throw Invalid(path, "ends inside its header");

        long dataStart = 8 + (long)headerLength;
        return ParseJson(path, json, dataStart, fileLength - dataStart);
    }

    static Header ParseJson(string path, byte[] json, long dataStart, long dataLength)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(json); }
        catch (JsonException e) { throw NotSafetensors(path, $"its header is not JSON: {e.Message}"); }
        using var _ = doc;
        if (doc.RootElement.ValueKind != JsonValueKind.Object)
            throw Invalid(path, "has a header that is not a JSON object");

        var tensors = new Dictionary<string, SafeTensorInfo>();
        var metadata = new Dictionary<string, string>();
        foreach (var prop in doc.RootElement.EnumerateObject())
        {
            if (prop.Name == MetadataKey)
            {
                if (prop.Value.ValueKind == JsonValueKind.Null) continue;
                if (prop.Value.ValueKind != JsonValueKind.Object) throw Invalid(path, "has a __metadata__ that is not an object");
                foreach (var m in prop.Value.EnumerateObject())
                    metadata[m.Name] = m.Value.ValueKind == JsonValueKind.String
                        ? m.Value.GetString()!
                        : throw Invalid(path, $"has a non-string __metadata__ value for '{m.Name}'");
                continue;
            }
            var info = ParseEntry(path, prop.Name, prop.Value, dataLength);
            if (!tensors.TryAdd(prop.Name, info))
                throw Invalid(path, $"names tensor '{prop.Name}' twice");
        }

        // Byte ranges must not overlap: each tensor owns its bytes.
        SafeTensorInfo? previous = null;
        string previousName = "";
        foreach (var (name, info) in tensors.OrderBy(kv => kv.Value.DataBegin).ThenBy(kv => kv.Value.DataEnd))
        {
            if (previous is not null && info.DataBegin < previous.DataEnd)
                throw Invalid(path, $"tensor '{name}' bytes [{info.DataBegin}, {info.DataEnd}) overlap tensor '{previousName}' [{previous.DataBegin}, {previous.DataEnd})");
            if (info.ByteLength > 0) (previous, previousName) = (info, name);
        }
        return new Header(dataStart, tensors, metadata);
    }

    static SafeTensorInfo ParseEntry(string path, string name, JsonElement e, long dataLength)
    {
        InvalidDataException Bad(string why) => Invalid(path, $"tensor '{name}': {why}");
        if (e.ValueKind != JsonValueKind.Object) throw Bad("entry is not an object");

        string dtype = e.TryGetProperty("dtype", out var d) && d.ValueKind == JsonValueKind.String
            ? d.GetString()! : throw Bad("lacks a string 'dtype'");
        if (!SafeTensorDtype.TryParse(dtype, out _, out int elementSize))
            throw Bad($"unknown dtype '{dtype}'");
        long[] shape = e.TryGetProperty("shape", out var s) && s.ValueKind == JsonValueKind.Array
            ? s.EnumerateArray().Select(x => ReadNonNegative(x) ?? throw Bad("shape holds a value that is not a non-negative integer")).ToArray()
            : throw Bad("lacks a 'shape' array");
        long[] offsets = e.TryGetProperty("data_offsets", out var o) && o.ValueKind == JsonValueKind.Array && o.GetArrayLength() == 2
            ? o.EnumerateArray().Select(x => ReadNonNegative(x) ?? throw Bad("data_offsets holds a value that is not a non-negative integer")).ToArray()
            : throw Bad("lacks 'data_offsets' [begin, end]");

        var info = new SafeTensorInfo(dtype, shape, offsets[0], offsets[1]);
        if (info.DataEnd < info.DataBegin)
            throw Bad($"data_offsets [{info.DataBegin}, {info.DataEnd}] end before they begin");
        if (info.DataEnd > dataLength)
            throw Bad($"data_offsets [{info.DataBegin}, {info.DataEnd}] pass the end of the data ({dataLength} bytes); the file may be truncated");
        long expected;
        try { expected = checked(info.NumElements * elementSize); }
        catch (OverflowException) { throw Bad($"shape [{string.Join(", ", shape)}] is too large"); }
        if (info.ByteLength != expected)
            throw Bad($"holds {info.ByteLength} bytes but {dtype} [{string.Join(", ", shape)}] needs {expected}");
        return info;
    }

    static long? ReadNonNegative(JsonElement x) =>
        x.ValueKind == JsonValueKind.Number && x.TryGetInt64(out long v) && v >= 0 ? v : null;

    static InvalidDataException Invalid(string path, string why) => new($"safetensors file '{path}' {why}");

    /// <summary>A file whose first bytes are no safetensors header at all (text, another format): said first, the detail after.</summary>
    static InvalidDataException NotSafetensors(string path, string why) => new($"'{path}' is not a safetensors file ({why})");
}
