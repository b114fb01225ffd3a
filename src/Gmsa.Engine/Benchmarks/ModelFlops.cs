using Gmsa.Engine.Model;

namespace Gmsa.Engine.Benchmarks;

/// <summary>
/// Matmul FLOPs of a decoder forward, the figure MFU-style ratios divide by: 2 x (linear weights of
/// the trunk) per token, causal attention over the lower triangle (QK^T and AV: 2 x S^2 x H x Dh per
/// layer and sequence), and 2 x D x V per token that reaches the LM head. Norms, RoPE and softmax are
/// left out, as is usual. A training step costs three forwards (the backward pass computes two
/// matmuls per forward matmul).
/// </summary>
public static class ModelFlops
{
    public static double Forward(ModelConfig c, long batch, long sequence, long headTokensPerSequence)
    {
        double trunkLinear = c.NumHiddenLayers * (
            (double)c.HiddenSize * c.HeadDim * (c.NumAttentionHeads * 2 + c.NumKeyValueHeads * 2)
            + 3.0 * c.HiddenSize * c.IntermediateSize);
        return 2 * trunkLinear * batch * sequence
            + c.NumHiddenLayers * 2.0 * batch * sequence * sequence * c.NumAttentionHeads * c.HeadDim
            + 2.0 * c.HiddenSize * c.VocabSize * batch * headTokensPerSequence;
    }

    public static double TrainingStep(ModelConfig c, long batch, long sequence) => 3 * Forward(c, batch, sequence, sequence);
}
