using Gmsa.Engine.Generation;

namespace Gmsa.Engine.Tests.Golden;

/// <summary>
/// A real pretrained checkpoint against outputs of an implementation nobody here wrote:
/// llama2.c's greedy generations of stories260K must come out token for token.
/// </summary>
public sealed class Stories260kGoldenTests(Stories260kFixture stories) : IClassFixture<Stories260kFixture>
{
    [Theory]
    [InlineData("", "## greedy, no prompt, -t 0 -n 256")]
    [InlineData("Once upon a time", "## greedy, prompt 'Once upon a time', -n 128")]
    public async Task Greedy_Stories260k_ReproducesLlama2cTokenForToken(string prompt, string header)
    {
        var dir = stories.Require();
        var (steps, expected) = Stories260kFixture.ReadGreedyReference()[header];
        using var lm = LanguageModel.Load(dir);
        var promptIds = lm.Encode(prompt); // BOS first, as llama2.c encodes
        // llama2.c runs `steps` positions: prompt tokens after BOS are forced, the rest sampled,
        // and it stops early on BOS. So it samples steps - promptLength + 1 tokens at most.
        var options = new SamplingOptions { MaxNewTokens = steps - promptIds.Count + 1, StopTokenIds = [1] };
        var completion = await lm.CompleteAsync([promptIds], options, cancellation: TestContext.Current.CancellationToken);
        var text = lm.Tokenizer.Decode(promptIds.Skip(1).Concat(completion.Result.Sequences[0].Tokens));
        Assert.Equal(expected, text);
    }
}
