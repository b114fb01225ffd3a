using Gmsa.Engine.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace Gmsa.Engine.Compression;

// Legend: B batch, n soft tokens, P prompt tokens, Y target tokens, T packed length, D hidden.

/// <summary>What the decoder reads for one row: soft tokens [n, D], then prompt ids, then (in training) target ids.</summary>
public sealed record SoftPromptRow(Tensor Soft, IReadOnlyList<int> Prompt, IReadOnlyList<int> Target);

/// <summary>A packed batch: input embeddings, their padding mask and, for training, where each target token is predicted.</summary>
public sealed record PackedBatch(Tensor Embeds, Tensor Mask, Tensor PredictingPositions, Tensor Targets) : IDisposable
{
    public long TargetTokens => Targets.shape[0];

    public void Dispose()
    {
        Embeds.Dispose(); Mask.Dispose(); PredictingPositions.Dispose(); Targets.Dispose();
    }
}

/// <summary>
/// Packs rows as [soft ; prompt ; target] with contiguous positions, padded after (training) or before
/// (generation), never between the parts (the reference code pads the soft block and the prompt block
/// separately, which puts holes in the positions of every row but the longest).
/// </summary>
public static class SoftPromptBatch
{
    public static PackedBatch Pack(CausalLM decoder, IReadOnlyList<SoftPromptRow> rows, bool padLeft)
    {
        if (rows.Count == 0) throw new ArgumentException("no rows to pack");
        using var scope = NewDisposeScope();
        var lengths = rows.Select(r => (int)r.Soft.shape[0] + r.Prompt.Count + r.Target.Count).ToArray();
        int width = lengths.Max();
        var embedded = new List<Tensor>(rows.Count);
        var mask = new long[rows.Count * width];
        var positions = new List<long>();
        var targets = new List<long>();
        for (int b = 0; b < rows.Count; b++)
        {
            var row = rows[b];
            var ids = row.Prompt.Concat(row.Target).Select(i => (long)i).ToArray();
            var parts = new List<Tensor> { row.Soft.to(decoder.DType) };
            if (ids.Length > 0) parts.Add(decoder.Embed(tensor(ids, device: decoder.Device)));     // [P + Y, D]
            var sequence = cat(parts, 0);                                                        // [len, D]
            int pad = width - lengths[b], start = padLeft ? pad : 0;
            embedded.Add(pad == 0 ? sequence : nn.functional.pad(sequence, padLeft ? [0, 0, pad, 0] : [0, 0, 0, pad]));
            Array.Fill(mask, 1L, b * width + start, lengths[b]);
            // Target token j is predicted at the position just before it.
            int firstTarget = start + (int)row.Soft.shape[0] + row.Prompt.Count;
            for (int j = 0; j < row.Target.Count; j++)
            {
                positions.Add((long)b * width + firstTarget + j - 1);
                targets.Add(row.Target[j]);
            }
        }
        var packed = new PackedBatch(
            stack(embedded).MoveToOuterDisposeScope(),                                            // [B, T, D]
            tensor(mask, [rows.Count, width], device: decoder.Device).MoveToOuterDisposeScope(),   // [B, T]
            tensor(positions.ToArray(), device: decoder.Device).MoveToOuterDisposeScope(),         // [sum Y] flat indices into B*T
            tensor(targets.ToArray(), device: decoder.Device).MoveToOuterDisposeScope());          // [sum Y]
        return packed;
    }

    /// <summary>
    /// Sum of the target tokens' cross-entropy (float32) for a right-padded batch, with the vocabulary projection
    /// taken at the predicting positions only.
    /// </summary>
    public static Tensor TargetLossSum(CausalLM decoder, PackedBatch batch)
    {
        using var scope = NewDisposeScope();
        if (batch.TargetTokens == 0) throw new ArgumentException("the batch has no target tokens");
        // Right padding needs no mask under causal attention (padding only follows a row's tokens), and without one
        // the decoder takes the fast causal kernels; positions run 0.. in every row either way.
        var hidden = decoder.HiddenStates(inputsEmbeds: batch.Embeds);                               // [B, T, D]
        var rows = hidden.reshape(-1, hidden.shape[2]).index_select(0, batch.PredictingPositions);  // [sum Y, D]
        var logits = decoder.LmHead(rows).to(ScalarType.Float32);                                    // [sum Y, V]
        return nn.functional.cross_entropy(logits, batch.Targets, reduction: nn.Reduction.Sum).MoveToOuterDisposeScope();
    }
}
