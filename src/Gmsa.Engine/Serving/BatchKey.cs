using Gmsa.Engine.Generation;

namespace Gmsa.Engine.Serving;

/// <summary>
/// Requests share a batch only when one <see cref="SamplingOptions"/> can serve them all: the generator
/// takes one set of settings per batch. Greedy rows ignore temperature, top-k/p and seed, so those
/// fields do not split greedy requests; sampled rows must agree on everything, seed included.
/// </summary>
internal readonly record struct BatchKey(bool Greedy, int MaxNewTokens, double RepetitionPenalty, double Temperature,
    int TopK, double TopP, long Seed, int? VocabLimit, string StopTokenIds)
{
    public static BatchKey Of(SamplingOptions s) => s.Greedy
        ? new(true, s.MaxNewTokens, s.RepetitionPenalty, 0, 0, 1, 0, s.VocabLimit, Stops(s))
        : new(false, s.MaxNewTokens, s.RepetitionPenalty, s.Temperature, s.TopK, s.TopP, s.Seed, s.VocabLimit, Stops(s));

    static string Stops(SamplingOptions s) => string.Join(',', s.StopTokenIds.Order());
}
