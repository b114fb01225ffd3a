using System.ComponentModel.DataAnnotations;

namespace Gmsa.Api.Options;

/// <summary>Which model folder the service loads and where it runs (configuration section <c>Gmsa:Model</c>).</summary>
public sealed class ModelOptions
{
    public const string Section = "Gmsa:Model";

    /// <summary>
    /// A Hugging Face model folder. A relative path is looked up from the content root and the build
    /// output upwards, so the default finds the repository's embedded model from wherever the service runs.
    /// </summary>
    [Required]
    public string Path { get; set; } = "models/gmsa-tiny";

    [RegularExpression("^(auto|cpu|cuda(:[0-9]+)?)$", ErrorMessage = "Device must be auto, cpu, cuda or cuda:N")]
    public string Device { get; set; } = "auto";

    /// <summary>libtorch intra-op threads on the CPU; 0 keeps libtorch's default (one per core). Set it below the
    /// core count when other work shares the machine: oversubscribed threads slow every op.</summary>
    [Range(0, 1024)]
    public int Threads { get; set; }

    /// <summary>float32, bfloat16 or float16 (CUDA only); empty keeps the checkpoint's own dtype.</summary>
    [RegularExpression("^(float32|bfloat16|float16)$", ErrorMessage = "Dtype must be float32, bfloat16 or float16")]
    public string? Dtype { get; set; }
}
