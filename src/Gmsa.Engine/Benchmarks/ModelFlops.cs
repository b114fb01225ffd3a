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
    public static double Forward(ModelConfig c, long batch, long sequence, long headTokensPerSequence) =>
        TrunkLinear(c, (double)batch * sequence) + Attention(c, batch, sequence) + Head(c, (double)batch * headTokensPerSequence);

    public static double TrainingStep(ModelConfig c, long batch, long sequence) => 3 * Forward(c, batch, sequence, sequence);

    /// <summary>The blocks' projections (q, k, v, o, gate, up, down) over <paramref name="tokens"/> tokens.</summary>
    public static double TrunkLinear(ModelConfig c, double tokens) =>
        2 * tokens * c.NumHiddenLayers * (
            (double)c.HiddenSize * c.HeadDim * (c.NumAttentionHeads * 2 + c.NumKeyValueHeads * 2)
            + 3.0 * c.HiddenSize * c.IntermediateSize);

    /// <summary>Causal QK^T and AV of every block for <paramref name="batch"/> sequences of <paramref name="sequence"/> tokens.</summary>
    public static double Attention(ModelConfig c, long batch, long sequence) =>
        c.NumHiddenLayers * 2.0 * batch * sequence * sequence * c.NumAttentionHeads * c.HeadDim;

    public static double Head(ModelConfig c, double tokens) => 2.0 * c.HiddenSize * c.VocabSize * tokens;

    /// <summary>
    /// LoRA of rank r on every projection of the blocks: A (in -> r) and B (r -> out), 2 r (in + out) per
    /// projection and token; summed over q, k, v, o, gate, up, down that is 2 r (7 D + 2 H Dh + 2 Hkv Dh + 3 I).
    /// </summary>
    public static double Lora(ModelConfig c, int rank, double tokens)
    {
        double d = c.HiddenSize, q = (double)c.NumAttentionHeads * c.HeadDim, kv = (double)c.NumKeyValueHeads * c.HeadDim;
        return 2 * tokens * rank * c.NumHiddenLayers * (7 * d + 2 * q + 2 * kv + 3.0 * c.IntermediateSize);
    }
}
