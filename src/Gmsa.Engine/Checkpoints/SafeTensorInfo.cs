using TorchSharp;

namespace Gmsa.Engine.Checkpoints;

/// <summary>
/// One tensor's entry in a safetensors header. <see cref="DataBegin"/> and <see cref="DataEnd"/> are
/// the file's data_offsets: relative to the first byte after the header, end exclusive.
/// </summary>
public sealed record SafeTensorInfo(string Dtype, long[] Shape, long DataBegin, long DataEnd)
{
    public long ByteLength => DataEnd - DataBegin;

    public long NumElements => Shape.Aggregate(1L, (n, d) => checked(n * d));
}

/// <summary>The safetensors dtype names we read and write, and their TorchSharp types.</summary>
internal static class SafeTensorDtype
{
    static readonly Dictionary<string, (torch.ScalarType Type, int Size)> ByName = new()
    {
        ["F64"] = (torch.ScalarType.Float64, 8),
        ["F32"] = (torch.ScalarType.Float32, 4),
        ["BF16"] = (torch.ScalarType.BFloat16, 2),
        ["F16"] = (torch.ScalarType.Float16, 2),
        ["I64"] = (torch.ScalarType.Int64, 8),
        ["I32"] = (torch.ScalarType.Int32, 4),
        ["I16"] = (torch.ScalarType.Int16, 2),
        ["I8"] = (torch.ScalarType.Int8, 1),
        ["U8"] = (torch.ScalarType.Byte, 1),
        ["BOOL"] = (torch.ScalarType.Bool, 1),
    };

    public static bool TryParse(string name, out torch.ScalarType type, out int elementSize)
    {
        bool ok = ByName.TryGetValue(name, out var entry);
        (type, elementSize) = entry;
        return ok;
    }

    public static string NameOf(torch.ScalarType type)
    {
        foreach (var (name, entry) in ByName)
            if (entry.Type == type) return name;
        throw new NotSupportedException($"dtype {type} has no safetensors name here (supported: {string.Join(", ", ByName.Keys)})");
    }
}
