using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Gmsa.Engine.Model;

/// <summary>
/// Layer factories that allocate weights without initialising them (embeddings aside): a checkpoint overwrites them
/// at once, and random init of a multi-billion-parameter model would cost seconds and a second
/// copy of memory. Fresh models call <see cref="CausalLM.InitializeWeights"/> instead.
/// </summary>
internal static class Layers
{
    public static LoraLinear Linear(long inFeatures, long outFeatures, bool bias, ScalarType dtype, Device? device) =>
        new(new Parameter(empty(outFeatures, inFeatures, dtype: dtype, device: device)),
            bias ? new Parameter(zeros(outFeatures, dtype: dtype, device: device)) : null);

    // nn.Embedding_from_pretrained keeps a native weight apart from the managed Parameter (in-place
    // writes to the parameter did not reach forward), so the plain constructor is used; its init is one pass.
    public static Embedding Embedding(long vocab, long dim, ScalarType dtype, Device? device) =>
        nn.Embedding(vocab, dim, device: device, dtype: dtype);
}
