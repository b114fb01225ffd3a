using static TorchSharp.torch;

namespace Gmsa.Engine.Generation;

/// <summary>
/// Prompts of different lengths as one left-padded batch: every row's last token sits in the last
/// column, so one decode step appends to all rows at once.
/// </summary>
public static class PromptBatch
{
    /// <returns>ids [B, L] (padding = <paramref name="padId"/>) and mask [B, L] (1 real, 0 pad), int64.</returns>
    public static (Tensor Ids, Tensor Mask) LeftPad(IReadOnlyList<IReadOnlyList<int>> prompts, int padId, Device? device = null)
    {
        if (prompts.Count == 0) throw new ArgumentException("no prompts");
        if (prompts.Any(p => p.Count == 0)) throw new ArgumentException("a prompt has no tokens");
        int width = prompts.Max(p => p.Count);
        var ids = new long[prompts.Count * width];
        var mask = new long[prompts.Count * width];
        for (int b = 0; b < prompts.Count; b++)
        {
            int offset = b * width + width - prompts[b].Count;
            Array.Fill(ids, padId, b * width, width - prompts[b].Count);
            for (int i = 0; i < prompts[b].Count; i++)
            {
                ids[offset + i] = prompts[b][i];
                mask[offset + i] = 1;
            }
        }
        return (tensor(ids, [prompts.Count, width], device: device), tensor(mask, [prompts.Count, width], device: device));
    }
}
