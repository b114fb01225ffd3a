using TorchSharp;
using static TorchSharp.torch;

namespace Gmsa.Engine.Model;

/// <summary>Device choice: CUDA when the loaded libtorch has it and a GPU is visible, else CPU.</summary>
public static class Devices
{
    public static Device Default() => cuda.is_available() ? CUDA : CPU;

    /// <summary>Parses "auto", "cpu", "cuda" or "cuda:N" with a clear error for anything else.</summary>
    public static Device Parse(string? name) => name?.Trim().ToLowerInvariant() switch
    {
        null or "" or "auto" => Default(),
        "cpu" => CPU,
        var s when s.StartsWith("cuda") => cuda.is_available()
            ? new Device(s)
            : throw new ArgumentException($"device '{name}' asked for, but this build's libtorch sees no CUDA GPU (build with -p:TorchBackend=cuda)"),
        _ => throw new ArgumentException($"unknown device '{name}' (auto, cpu, cuda, cuda:N)"),
    };

    public static ScalarType ParseDtype(string? name) => name?.Trim().ToLowerInvariant() switch
    {
        "float32" or "fp32" or "f32" => ScalarType.Float32,
        "bfloat16" or "bf16" => ScalarType.BFloat16,
        "float16" or "fp16" or "f16" => ScalarType.Float16,
        _ => throw new ArgumentException($"unknown dtype '{name}' (float32, bfloat16, float16)"),
    };

    public static string DtypeName(ScalarType dtype) => dtype switch
    {
        ScalarType.BFloat16 => "bfloat16",
        ScalarType.Float16 => "float16",
        ScalarType.Float32 => "float32",
        _ => throw new NotSupportedException($"model dtype {dtype}"),
    };
}
