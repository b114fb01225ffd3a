using Gmsa.Engine.Generation;
using static TorchSharp.torch;

namespace Gmsa.Engine.Serving;

/// <summary>
/// A request that passed validation: its prompt already tokenized and within the model's context, its sampling settings
/// checked. The scheduler takes nothing else.
/// </summary>
public sealed record GenerationRequest(IReadOnlyList<int> PromptTokens, SamplingOptions Sampling)
{
    /// <summary>
    /// Input embeddings read before the prompt, [n, D] in the decoder's dtype and device: GMSA soft tokens, for answers
    /// over a compressed context. The caller owns the tensor and disposes it once the generation has completed.
    /// </summary>
    public Tensor? SoftPrefix { get; init; }

    /// <summary>
    /// The decoder adapter on for this request (<see cref="Model.Lora.Activate"/>): the answer or restate adapter over soft
    /// tokens; null, the base weights alone, for plain text.
    /// </summary>
    public string? DecoderAdapter { get; init; }

    /// <summary>Positions the prompt takes in the decoder: soft tokens and text tokens.</summary>
    public int InputLength => PromptTokens.Count + (int)(SoftPrefix?.shape[0] ?? 0);

    /// <summary>Throws ArgumentException when the request could not run on a model with this context length.</summary>
    public void Validate(int contextLength)
    {
        if (InputLength == 0) throw new ArgumentException("the prompt has no tokens");
        if (SoftPrefix is not null && SoftPrefix.dim() != 2) throw new ArgumentException("soft tokens must be [n, hidden]");
        Sampling.Validate();
        if ((long)InputLength + Sampling.MaxNewTokens > contextLength)   // long: max_tokens near int.MaxValue would wrap negative and pass
            throw new ArgumentException($"prompt of {InputLength} tokens + {Sampling.MaxNewTokens} new tokens exceeds the context of {contextLength}");
    }
}
