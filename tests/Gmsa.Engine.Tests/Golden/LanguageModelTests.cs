using Gmsa.Engine.Generation;

namespace Gmsa.Engine.Tests.Golden;

/// <summary>The text-level API over the real stories260K checkpoint.</summary>
public sealed class LanguageModelTests(Stories260kFixture stories) : IClassFixture<Stories260kFixture>
{
    static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task StreamAsync_Pieces_ConcatenateToCompletionText()
    {
        using var lm = LanguageModel.Load(stories.Require());
        var options = new SamplingOptions { MaxNewTokens = 40, Temperature = 0.8, TopP = 0.9, Seed = 11 };
        var pieces = new List<string>();
        await foreach (var piece in lm.StreamAsync("Lily saw", options, Token)) pieces.Add(piece);
        var completion = await lm.CompleteAsync(["Lily saw"], options, cancellation: Token);
        Assert.True(pieces.Count > 5);
        Assert.Equal(completion.Texts[0], string.Concat(pieces));
        Assert.StartsWith(" ", completion.Texts[0]); // a continuation keeps the space after the prompt
    }

    [Fact]
    public async Task CompleteAsync_BatchOfPrompts_EqualsEachPromptAlone()
    {
        using var lm = LanguageModel.Load(stories.Require());
        string[] prompts = ["Once upon a time", "The cat", "Tom and his dog went to the"];
        var options = new SamplingOptions { MaxNewTokens = 30 };
        var batch = await lm.CompleteAsync(prompts, options, cancellation: Token);
        for (int i = 0; i < prompts.Length; i++)
        {
            var alone = await lm.CompleteAsync([prompts[i]], options, cancellation: Token);
            Assert.Equal(alone.Texts[0], batch.Texts[i]);
        }
    }

    [Fact]
    public async Task CompleteAsync_PromptPastContext_ThrowsArgumentExceptionNamingContext()
    {
        using var lm = LanguageModel.Load(stories.Require());
        var e = await Assert.ThrowsAsync<ArgumentException>(() =>
            lm.CompleteAsync([string.Join(" ", Enumerable.Repeat("cat", 600))], new SamplingOptions(), cancellation: Token));
        Assert.Contains("context of 512", e.Message);
    }

    [Fact]
    public async Task ModelRunner_JobsRunInOrderOnOneThreadAndFaultsReachTheCaller()
    {
        using var runner = new ModelRunner("test-runner");
        var threads = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => runner.RunAsync(() => Environment.CurrentManagedThreadId, Token)));
        Assert.Single(threads.Distinct());
        await Assert.ThrowsAsync<InvalidOperationException>(() => runner.RunAsync<int>(() => throw new InvalidOperationException("boom"), Token));
        Assert.Equal(42, await runner.RunAsync(() => 42, Token)); // still serving after a fault
    }
}
