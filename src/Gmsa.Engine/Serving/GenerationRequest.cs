using Gmsa.Engine.Generation;

namespace Gmsa.Engine.Serving;

/// <summary>
/// A request that passed validation: its prompt already tokenized and within the model's context,
/// its sampling settings checked. The scheduler takes nothing else.
/// </summary>
public sealed record GenerationRequest(IReadOnlyList<int> PromptTokens, SamplingOptions Sampling)
{
    /// <summary>Throws ArgumentException when the request could not run on a model with this context length.</summary>
    public void Validate(int contextLength)
    {
        if (PromptTokens.Count == 0) throw new ArgumentException("the prompt has no tokens");
        Sampling.Validate();
        if (PromptTokens.Count + Sampling.MaxNewTokens > contextLength)
            throw new ArgumentException($"prompt of {PromptTokens.Count} tokens + {Sampling.MaxNewTokens} new tokens exceeds the context of {contextLength}");
    }
}
