using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace Gmsa.Engine.Compression;

/// <summary>
/// Soft tokens as plain bytes: [Count, Dimension] little-endian in the decoder's dtype ("bfloat16" or "float32"), with the
/// context length and rate they came from. No tensor, so it crosses threads, caches (HybridCache, Redis) and
/// serializers freely; <see cref="ToTensor"/> makes it an input-embeddings prefix again.
/// </summary>
public sealed record SoftTokenData(int Count, int Dimension, string Dtype, byte[] Raw, int ContextTokens, int Rate)
{
    public double Ratio => (double)ContextTokens / Count;

    public static SoftTokenData From(Tensor embeddings, int contextTokens, int rate)
    {
        using var cpu = embeddings.detach().cpu().contiguous();
        string dtype = cpu.dtype switch
        {
            ScalarType.BFloat16 => "bfloat16",
            ScalarType.Float32 => "float32",
            var other => throw new NotSupportedException($"soft tokens in {other}"),
        };
        return new SoftTokenData((int)cpu.shape[0], (int)cpu.shape[1], dtype, cpu.bytes.ToArray(), contextTokens, rate);
    }

    /// <summary>[Count, Dimension] in the stored dtype on <paramref name="device"/>; the caller owns it.</summary>
    public Tensor ToTensor(Device? device = null)
    {
        var t = empty([Count, Dimension], Dtype == "bfloat16" ? ScalarType.BFloat16 : ScalarType.Float32);
        Raw.CopyTo(t.bytes);
        return device is null || device.type == DeviceType.CPU ? t : t.to(device);
    }

    /// <summary>The values as float32, row after row (bf16 widened exactly).</summary>
    public float[] ToFloat32()
    {
        var values = new float[Count * Dimension];
        if (Dtype == "float32") { MemoryMarshal.Cast<byte, float>(Raw).CopyTo(values); return values; }
        var raw = MemoryMarshal.Cast<byte, ushort>(Raw);
        for (int i = 0; i < values.Length; i++) values[i] = BitConverter.UInt32BitsToSingle((uint)raw[i] << 16);
        return values;
    }

    /// <summary>Several contexts' soft tokens read one after another, as one prefix.</summary>
    public static SoftTokenData Concatenate(IReadOnlyList<SoftTokenData> parts)
    {
        if (parts.Count == 1) return parts[0];
        if (parts.Select(p => (p.Dimension, p.Dtype)).Distinct().Count() != 1) throw new ArgumentException("soft tokens of different shapes or dtypes");
        return new SoftTokenData(parts.Sum(p => p.Count), parts[0].Dimension, parts[0].Dtype, parts.SelectMany(p => p.Raw).ToArray(),
            parts.Sum(p => p.ContextTokens), parts[0].Rate);
    }
}
