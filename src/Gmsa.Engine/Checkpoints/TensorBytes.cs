using Microsoft.Win32.SafeHandles;
using TorchSharp;
using static TorchSharp.torch;

namespace Gmsa.Engine.Checkpoints;

/// <summary>
/// Moves bytes between files and the native storage of contiguous CPU tensors through
/// <c>Tensor.bytes</c>, with no managed copy. A Span is int-indexed, so tensors over
/// <paramref name="chunkBytes"/> go through slices of a flat view.
/// </summary>
internal static class TensorBytes
{
    public const long DefaultChunkBytes = 1L << 30;

    /// <summary>Fills <paramref name="t"/> with the bytes at <paramref name="offset"/>; a short file is an InvalidDataException naming <paramref name="path"/>.</summary>
    public static void Read(SafeFileHandle file, Tensor t, long offset, string path, long chunkBytes = DefaultChunkBytes)
    {
        ForEachSlice(t, chunkBytes, (slice, at) =>
        {
            var span = slice.bytes;
            for (int done = 0; done < span.Length;)
            {
                int n = RandomAccess.Read(file, span[done..], offset + at + done);
                if (n == 0)
                    throw new InvalidDataException($"{path}: file ends at byte {offset + at + done}, inside tensor data");
                done += n;
            }
        });
    }

    /// <summary>Writes the storage of a contiguous CPU tensor to <paramref name="stream"/>.</summary>
    public static void Write(Stream stream, Tensor t, long chunkBytes = DefaultChunkBytes) =>
        ForEachSlice(t, chunkBytes, (slice, _) => stream.Write(slice.bytes));

    delegate void SliceAction(Tensor slice, long byteOffset);

    static void ForEachSlice(Tensor t, long chunkBytes, SliceAction action)
    {
        if (t.device_type != DeviceType.CPU || !t.is_contiguous())
            throw new ArgumentException("tensor must be contiguous and on the CPU", nameof(t));
        long numel = t.numel(), elementSize = t.ElementSize;
        if (numel == 0) return;
        if (numel * elementSize <= chunkBytes)
        {
            action(t, 0);
            return;
        }
        long perSlice = Math.Max(1, chunkBytes / elementSize);
        using var flat = t.view(-1);
        for (long start = 0; start < numel; start += perSlice)
        {
            using var slice = flat.narrow(0, start, Math.Min(perSlice, numel - start));
            action(slice, start * elementSize);
        }
    }
}
