using TorchSharp;
using static TorchSharp.torch;

namespace Gmsa.Engine.Model;

/// <summary>
/// Builds the attention mask and position ids for a forward over T new tokens after P cached ones,
/// from a Hugging Face style padding mask [B, P+T] (1 = real token, 0 = padding, left-padded).
/// </summary>
public static class AttentionMask
{
    /// <summary>
    /// Returns a bool mask [B, 1, T, P+T] (true = attend), or null when plain causal attention is
    /// exact: no padding, and either no cache (SDPA's top-left causal flag) or a single new token.
    /// </summary>
    public static Tensor? Build(Tensor? paddingMask, long past, long newTokens, Device device)
    {
        bool padded = paddingMask is not null && !paddingMask.all().item<bool>();
        if (!padded && (past == 0 || newTokens == 1)) return null;

        using var scope = NewDisposeScope();
        long total = past + newTokens;
        var keyPos = arange(total, device: device).unsqueeze(0);                  // [1, S]
        var queryPos = arange(past, total, device: device).unsqueeze(1);          // [T, 1]
        var mask = keyPos.le(queryPos);                                           // [T, S] causal
        if (padded)
        {
            var keep = paddingMask!.to(ScalarType.Bool).to(device).unsqueeze(1).unsqueeze(1); // [B, 1, 1, S]
            // A padding query sees no real key; letting it see itself keeps its row finite
            // (an all-false row would give NaN, and NaN * 0 still poisons the batch).
            mask = (mask.unsqueeze(0).unsqueeze(0) & keep) | keyPos.eq(queryPos);             // [B, 1, T, S]
        }
        else
        {
            mask = mask.unsqueeze(0).unsqueeze(0);                                // [1, 1, T, S]
        }
        return mask.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Position ids [B, T] for the new tokens: counted over real tokens only, so a left-padded row
    /// starts at 0 where its text starts (as transformers' generate does).
    /// </summary>
    public static Tensor PositionIds(Tensor? paddingMask, long batch, long past, long newTokens, Device device)
    {
        using var scope = NewDisposeScope();
        Tensor positions;
        if (paddingMask is null)
            positions = arange(past, past + newTokens, device: device).unsqueeze(0).expand(batch, newTokens);
        else
        {
            var counted = paddingMask.to(ScalarType.Int64).to(device).cumsum(-1) - 1;                 // [B, S]
            positions = counted.clamp_min(Scalars.Zero).narrow(1, past, newTokens);                   // [B, T]
        }
        return positions.contiguous().MoveToOuterDisposeScope();
    }
}
