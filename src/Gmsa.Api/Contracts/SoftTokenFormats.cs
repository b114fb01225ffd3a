using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using Gmsa.Engine.Checkpoints;
using Gmsa.Engine.Compression;

namespace Gmsa.Api.Contracts;

/// <summary>The encodings /v1/compress answers in, each read back by the tests against the engine's tensor.</summary>
public static class SoftTokenFormats
{
    public const string Json = "json", Base64Float32 = "base64-float32", Base64Bfloat16 = "base64-bfloat16", Safetensors = "safetensors", Npy = "npy",
        VllmPromptEmbeds = "vllm-prompt-embeds";
    public static readonly string[] All = [Json, Base64Float32, Base64Bfloat16, Safetensors, Npy, VllmPromptEmbeds];
    public const string SafetensorsMediaType = "application/x-safetensors", NpyMediaType = "application/x-npy";

    /// <summary>
    /// About how many response bytes one soft-token value takes in <paramref name="format"/>, for refusing an answer too large
    /// to build before compressing: JSON writes a float32's shortest round-trip text and a comma (measured about 10 bytes
    /// on gmsa-tiny's soft tokens), base64 four characters per three bytes, the files the decoder's dtype.
    /// </summary>
    public static double BytesPerValue(string format, int dtypeBytes) => format switch
    {
        Json => 10,
        Base64Float32 => 16 / 3.0,
        Base64Bfloat16 => 8 / 3.0,
        Npy => 4,
        Safetensors => dtypeBytes,
        VllmPromptEmbeds => dtypeBytes * 4 / 3.0,
        _ => 4,
    };

    public static float[][] Rows(SoftTokenData soft)
    {
        var values = soft.ToFloat32();
        return Enumerable.Range(0, soft.Count).Select(r => values.AsSpan(r * soft.Dimension, soft.Dimension).ToArray()).ToArray();
    }

    /// <summary>Little-endian float32 (every value exact) or bfloat16 (the decoder's own bits when it runs in bf16).</summary>
    public static string Base64(SoftTokenData soft, bool bf16)
    {
        if (bf16 && soft.Dtype == "bfloat16") return Convert.ToBase64String(soft.Raw);
        var values = soft.ToFloat32();
        var bytes = new byte[values.Length * (bf16 ? 2 : 4)];
        for (int i = 0; i < values.Length; i++)
        {
            if (bf16) BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(2 * i), Gmsa.Engine.Model.SmallBatchLinear.ToBf16(values[i]));
            else BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(4 * i), values[i]);
        }
        return Convert.ToBase64String(bytes);
    }

    /// <summary>
    /// A safetensors file: tensor <c>soft_tokens.{i}</c> [n_i, hidden] per context in the decoder's dtype; metadata
    /// maps <c>compressed_id.{i}</c> to each id and <c>context_tokens.{i}</c> to its token count, and gives the rate
    /// and the base model, so `gmsa answer --soft` reads the file as it reads `gmsa compress`'s.
    /// </summary>
    public static byte[] SafetensorsFile(IReadOnlyList<(string Id, SoftTokenData Soft)> contexts, int rate, string baseModel)
    {
        var header = SafeTensors.HeaderBytes(contexts.Select((c, i) => ($"soft_tokens.{i}", c.Soft.Dtype == "bfloat16" ? "BF16" : "F32",
            new long[] { c.Soft.Count, c.Soft.Dimension }, (long)c.Soft.Raw.Length)), Metadata(contexts, rate, baseModel));
        var file = new byte[8 + header.Length + contexts.Sum(c => (long)c.Soft.Raw.Length)];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)header.Length);
        header.CopyTo(file, 8);
        long at = 8 + header.Length;
        foreach (var (_, s) in contexts)
        {
            s.Raw.CopyTo(file, at);
            at += s.Raw.Length;
        }
        return file;
    }

    static Dictionary<string, string> Metadata(IReadOnlyList<(string Id, SoftTokenData Soft)> contexts, int rate, string baseModel)
    {
        var m = new Dictionary<string, string> { ["rate"] = rate.ToString(CultureInfo.InvariantCulture), ["base_model"] = baseModel };
        for (int i = 0; i < contexts.Count; i++)
        {
            m[$"compressed_id.{i}"] = contexts[i].Id;
            m[$"context_tokens.{i}"] = contexts[i].Soft.ContextTokens.ToString(CultureInfo.InvariantCulture);
        }
        return m;
    }

    /// <summary>NumPy's .npy (format 1.0): float32 little-endian, C order, shape (n, hidden).</summary>
    public static byte[] NpyFile(SoftTokenData soft)
    {
        string dict = $"{{'descr': '<f4', 'fortran_order': False, 'shape': ({soft.Count}, {soft.Dimension}), }}";
        int headerLength = (10 + dict.Length + 1 + 63) / 64 * 64 - 10;   // magic + version + length, padded to 64 bytes
        var header = Encoding.ASCII.GetBytes(dict.PadRight(headerLength - 1) + "\n");
        var values = soft.ToFloat32();
        var file = new byte[10 + header.Length + values.Length * 4];
        file[0] = 0x93;
        Encoding.ASCII.GetBytes("NUMPY").CopyTo(file, 1);
        file[6] = 1;
        file[7] = 0;
        BinaryPrimitives.WriteUInt16LittleEndian(file.AsSpan(8), (ushort)header.Length);
        header.CopyTo(file, 10);
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(file.AsSpan(10 + header.Length + 4 * i), values[i]);
        return file;
    }
}
