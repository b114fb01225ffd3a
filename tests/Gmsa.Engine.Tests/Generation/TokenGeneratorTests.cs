using Gmsa.Engine.Generation;
using Gmsa.Engine.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace Gmsa.Engine.Tests.Generation;

public sealed class TokenGeneratorTests
{
    static readonly int[] PromptA = [1, 5, 17, 42, 8];
    static readonly int[] PromptB = [1, 77, 3];

    // Reference: argmax of a full forward (no cache) over the growing sequence.
    static List<int> NaiveGreedy(CausalLM model, int[] prompt, int steps, double frequency = 0, double presence = 0)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var seq = prompt.ToList();
        var generated = new List<int>();
        for (int i = 0; i < steps; i++)
        {
            var logits = model.forward(tensor(seq.Select(x => (long)x).ToArray(), [1, seq.Count])).Logits;
            var scores = logits[0, -1].to(ScalarType.Float32).data<float>().ToArray();
            // OpenAI's penalties by hand: each generated token's count times frequency, plus presence once.
            foreach (var g in generated.GroupBy(t => t)) scores[g.Key] -= (float)(g.Count() * frequency + presence);
            int next = Array.IndexOf(scores, scores.Max());
            seq.Add(next);
            generated.Add(next);
        }
        return generated;
    }

    [Fact]
    public void Greedy_SinglePrompt_MatchesNaiveFullForwardLoop()
    {
        using var model = TinyModels.Create(TinyModels.Llama());
        var result = TokenGenerator.Generate(model, [PromptA], new SamplingOptions { MaxNewTokens = 12 }, padId: 0);
        Assert.Equal(NaiveGreedy(model, PromptA, 12), result.Sequences[0].Tokens);
        Assert.Equal(FinishReason.Length, result.Sequences[0].Reason);
        Assert.Equal(PromptA.Length, result.PromptTokens);
    }

    [Fact]
    public void Generate_StopStrings_RefusedRatherThanIgnored()
    {
        // token ids carry no text here; a stop string that passed through would be silently ignored
        using var model = TinyModels.Create(TinyModels.Llama());
        var e = Assert.Throws<ArgumentException>(() =>
            TokenGenerator.Generate(model, [PromptA], new SamplingOptions { MaxNewTokens = 4, StopSequences = ["."] }, padId: 0));
        Assert.Contains("GenerationScheduler", e.Message);
    }

    [Fact]
    public void Greedy_FrequencyAndPresencePenalties_MatchNaiveLoopCountingGeneratedTokensOnly()
    {
        using var model = TinyModels.Create(TinyModels.Llama());
        var options = new SamplingOptions { MaxNewTokens = 16, FrequencyPenalty = 0.7, PresencePenalty = 0.4 };
        var result = TokenGenerator.Generate(model, [PromptA, PromptB], options, padId: 0);

        Assert.Equal(NaiveGreedy(model, PromptA, 16, 0.7, 0.4), result.Sequences[0].Tokens);
        Assert.Equal(NaiveGreedy(model, PromptB, 16, 0.7, 0.4), result.Sequences[1].Tokens);
        Assert.NotEqual(NaiveGreedy(model, PromptA, 16), result.Sequences[0].Tokens);   // the penalties changed something
    }

    [Fact]
    public void Greedy_LeftPaddedBatch_EachRowMatchesItsOwnRun()
    {
        using var model = TinyModels.Create(TinyModels.Qwen2());
        var options = new SamplingOptions { MaxNewTokens = 10 };
        var batch = TokenGenerator.Generate(model, [PromptA, PromptB], options, padId: 0);
        Assert.Equal(NaiveGreedy(model, PromptA, 10), batch.Sequences[0].Tokens);
        Assert.Equal(NaiveGreedy(model, PromptB, 10), batch.Sequences[1].Tokens);
    }

    [Fact]
    public void StopToken_InOneRow_FinishesThatRowOnlyAndIsExcluded()
    {
        using var model = TinyModels.Create(TinyModels.Llama());
        var expectedA = NaiveGreedy(model, PromptA, 8);
        var expectedB = NaiveGreedy(model, PromptB, 8);
        int stop = expectedA[3];
        Assert.DoesNotContain(stop, expectedB.Take(7)); // the chosen stop must only hit row A (seeded weights keep this true)
        var options = new SamplingOptions { MaxNewTokens = 8, StopTokenIds = [stop] };
        var result = TokenGenerator.Generate(model, [PromptA, PromptB], options, padId: 0);
        Assert.Equal(expectedA.Take(expectedA.IndexOf(stop)), result.Sequences[0].Tokens);
        Assert.Equal(FinishReason.Stop, result.Sequences[0].Reason);
        Assert.Equal(expectedB.TakeWhile(t => t != stop), result.Sequences[1].Tokens);
    }

    [Fact]
    public void Streaming_Callback_SeesEveryTokenInOrder()
    {
        using var model = TinyModels.Create(TinyModels.Llama());
        var streamed = new List<(int Row, int Token)>();
        var result = TokenGenerator.Generate(model, [PromptA, PromptB], new SamplingOptions { MaxNewTokens = 6 }, 0,
            (row, token) => streamed.Add((row, token)));
        Assert.Equal(result.Sequences[0].Tokens, streamed.Where(s => s.Row == 0).Select(s => s.Token));
        Assert.Equal(result.Sequences[1].Tokens, streamed.Where(s => s.Row == 1).Select(s => s.Token));
    }

    [Fact]
    public void Sampled_SameSeed_IsReproducible()
    {
        using var model = TinyModels.Create(TinyModels.Llama());
        var options = new SamplingOptions { MaxNewTokens = 16, Temperature = 1.0, TopP = 0.9, TopK = 20, Seed = 5 };
        var first = TokenGenerator.Generate(model, [PromptA], options, 0).Sequences[0].Tokens;
        var second = TokenGenerator.Generate(model, [PromptA], options, 0).Sequences[0].Tokens;
        Assert.Equal(first, second);
    }

    [Fact]
    public void FromEmbeddings_OfPromptIds_EqualsFromIds()
    {
        using var model = TinyModels.Create(TinyModels.Llama());
        using var scope = NewDisposeScope();
        var (ids, mask) = PromptBatch.LeftPad([PromptA, PromptB], 0);
        Tensor embeds;
        using (no_grad()) embeds = model.Embed(ids);
        var options = new SamplingOptions { MaxNewTokens = 8 };
        var fromEmbeds = TokenGenerator.GenerateFromEmbeddings(model, embeds, mask, options, 0);
        var fromIds = TokenGenerator.Generate(model, [PromptA, PromptB], options, 0);
        Assert.Equal(fromIds.Sequences.Select(s => s.Tokens), fromEmbeds.Sequences.Select(s => s.Tokens));
    }

    [Fact]
    public void Cancellation_BeforeBudget_MarksRowsCancelled()
    {
        using var model = TinyModels.Create(TinyModels.Llama());
        using var cts = new CancellationTokenSource();
        var result = TokenGenerator.Generate(model, [PromptA], new SamplingOptions { MaxNewTokens = 50 }, 0,
            (_, _) => cts.Cancel(), cts.Token);
        Assert.Single(result.Sequences[0].Tokens);
        Assert.Equal(FinishReason.Cancelled, result.Sequences[0].Reason);
    }
}
