using Gmsa.Engine.Generation;
using Gmsa.Engine.Serving;
using Gmsa.Engine.Tests.Golden;

namespace Gmsa.Engine.Tests.Serving;

/// <summary>Admission, batching and cancellation of the scheduler over the real stories260K model.</summary>
public sealed class GenerationSchedulerTests(Stories260kFixture stories) : IClassFixture<Stories260kFixture>
{
    static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);
    static CancellationToken Token => TestContext.Current.CancellationToken;

    static GenerationRequest Greedy(LanguageModel lm, string prompt, int maxNewTokens = 12) =>
        new(lm.Encode(prompt), new SamplingOptions { MaxNewTokens = maxNewTokens });

    /// <summary>Occupies the model thread until disposed, so queued requests stay queued (at most 20 s).</summary>
    sealed class BusyModel : IDisposable
    {
        readonly ManualResetEventSlim gate = new();
        public BusyModel(LanguageModel lm) => lm.Runner.RunAsync(() => gate.Wait(TimeSpan.FromSeconds(20)));
        public void Dispose() => gate.Set();
    }

    [Fact]
    public async Task TryEnqueue_CapacityReached_RefusesAtOnceAndAdmitsAgainAfterwards()
    {
        using var lm = LanguageModel.Load(stories.Require());
        await using var scheduler = new GenerationScheduler(lm, new SchedulerOptions { Capacity = 1, BatchWindow = TimeSpan.Zero });
        ScheduledGeneration? first;
        using (new BusyModel(lm))
        {
            Assert.True(scheduler.TryEnqueue(Greedy(lm, "Once"), Token, out first));
            Assert.False(scheduler.TryEnqueue(Greedy(lm, "Lily"), Token, out var refused));
            Assert.Null(refused);
            Assert.Equal(1, scheduler.InFlight);
        }
        await first.Completion.WaitAsync(Bound, Token);
        Assert.Equal(0, scheduler.InFlight);
        Assert.True(scheduler.TryEnqueue(Greedy(lm, "Lily"), Token, out var again));
        await again.Completion.WaitAsync(Bound, Token);
    }

    [Fact]
    public async Task Batching_EqualSettings_ShareOneBatchAndEqualEachPromptAlone()
    {
        using var lm = LanguageModel.Load(stories.Require());
        string[] prompts = ["Once upon a time", "The cat", "Tom and his dog went to the"];
        // A long window: the batch starts when it is full, not when the window closes.
        await using var scheduler = new GenerationScheduler(lm, new SchedulerOptions { MaxBatchSize = 3, BatchWindow = TimeSpan.FromSeconds(10) });
        var reports = new List<BatchReport>();
        scheduler.BatchCompleted += reports.Add;
        var generations = prompts.Select(p => scheduler.TryEnqueue(Greedy(lm, p, 20), Token, out var g) ? g : throw new InvalidOperationException("refused")).ToArray();
        var outcomes = await Task.WhenAll(generations.Select(g => g.Completion)).WaitAsync(Bound, Token);

        Assert.All(outcomes, o => Assert.Equal(3, o.BatchSize));
        Assert.Equal(3, Assert.Single(reports).Size);
        for (int i = 0; i < prompts.Length; i++)
        {
            var alone = await lm.CompleteAsync([prompts[i]], new SamplingOptions { MaxNewTokens = 20 }, cancellation: Token);
            Assert.Equal(alone.Texts[0], outcomes[i].Text);
            Assert.Equal(alone.Result.Sequences[0].Tokens.Count, outcomes[i].CompletionTokens);
            Assert.Equal(lm.Encode(prompts[i]).Count, outcomes[i].PromptTokens);
        }
    }

    [Fact]
    public async Task Batching_DifferentSettings_RunInSeparateBatchesOldestFirst()
    {
        using var lm = LanguageModel.Load(stories.Require());
        await using var scheduler = new GenerationScheduler(lm, new SchedulerOptions { MaxBatchSize = 4, BatchWindow = TimeSpan.FromMilliseconds(300) });
        var sizes = new List<int>();
        scheduler.BatchCompleted += r => sizes.Add(r.Size);
        var sampled = new GenerationRequest(lm.Encode("The cat"), new SamplingOptions { MaxNewTokens = 10, Temperature = 0.8, Seed = 3 });
        Assert.True(scheduler.TryEnqueue(Greedy(lm, "Once", 10), Token, out var a));
        Assert.True(scheduler.TryEnqueue(sampled, Token, out var b));
        Assert.True(scheduler.TryEnqueue(Greedy(lm, "Lily", 10), Token, out var c));
        var outcomes = await Task.WhenAll(a.Completion, b.Completion, c.Completion).WaitAsync(Bound, Token);

        Assert.Equal([2, 1, 2], outcomes.Select(o => o.BatchSize));
        Assert.Equal([2, 1], sizes);
    }

    [Fact]
    public async Task Cancellation_QueuedRequest_FreesItsSlotAtOnceAndNeverRuns()
    {
        using var lm = LanguageModel.Load(stories.Require());
        await using var scheduler = new GenerationScheduler(lm, new SchedulerOptions { Capacity = 2, MaxBatchSize = 1, BatchWindow = TimeSpan.Zero });
        var sizes = new List<int>();
        scheduler.BatchCompleted += r => sizes.Add(r.Size);
        using var leaving = new CancellationTokenSource();
        ScheduledGeneration? first, queued, next;
        using (new BusyModel(lm))
        {
            Assert.True(scheduler.TryEnqueue(Greedy(lm, "Once"), Token, out first));
            Assert.True(scheduler.TryEnqueue(Greedy(lm, "Lily"), leaving.Token, out queued));
            Assert.False(scheduler.TryEnqueue(Greedy(lm, "Tom"), Token, out _));
            leaving.Cancel();
            Assert.Equal(1, scheduler.InFlight);
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => queued.Completion.WaitAsync(Bound, Token));
            Assert.True(scheduler.TryEnqueue(Greedy(lm, "Tom"), Token, out next));
        }
        await Task.WhenAll(first.Completion, next.Completion).WaitAsync(Bound, Token);
        Assert.Equal([1, 1], sizes); // two batches ran: the cancelled request was skipped
        Assert.Equal(0, scheduler.InFlight);
    }

    [Fact]
    public async Task Cancellation_EveryRowOfRunningBatchGone_StopsTheBatch()
    {
        using var lm = LanguageModel.Load(stories.Require());
        var whole = await lm.CompleteAsync(["Once upon a time"], new SamplingOptions { MaxNewTokens = 450 }, cancellation: Token);
        int wholeTokens = whole.Result.GeneratedTokens;
        Assert.True(wholeTokens > 100, $"the uninterrupted run made only {wholeTokens} tokens");
        await using var scheduler = new GenerationScheduler(lm, new SchedulerOptions { Capacity = 1, BatchWindow = TimeSpan.Zero });
        var reports = new List<BatchReport>();
        scheduler.BatchCompleted += reports.Add;
        using var leaving = new CancellationTokenSource();
        Assert.True(scheduler.TryEnqueue(Greedy(lm, "Once upon a time", 450), leaving.Token, out var running));

        Assert.True(await running.Text.WaitToReadAsync(Token).AsTask().WaitAsync(Bound, Token)); // it is generating
        leaving.Cancel();
        Assert.Equal(0, scheduler.InFlight);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running.Completion.WaitAsync(Bound, Token));

        Assert.True(scheduler.TryEnqueue(Greedy(lm, "Lily"), Token, out var next));
        await next.Completion.WaitAsync(Bound, Token);
        Assert.True(reports[0].GeneratedTokens < wholeTokens, $"the abandoned batch ran on to {reports[0].GeneratedTokens} tokens");
    }

    [Fact]
    public async Task Streaming_Pieces_ConcatenateToOutcomeText()
    {
        using var lm = LanguageModel.Load(stories.Require());
        await using var scheduler = new GenerationScheduler(lm, new SchedulerOptions());
        var request = new GenerationRequest(lm.Encode("Lily saw"), new SamplingOptions { MaxNewTokens = 40, Temperature = 0.8, TopP = 0.9, Seed = 11 });
        Assert.True(scheduler.TryEnqueue(request, Token, out var generation));
        var pieces = new List<string>();
        await foreach (var piece in generation.Text.ReadAllAsync(Token)) pieces.Add(piece);
        var outcome = await generation.Completion.WaitAsync(Bound, Token);
        Assert.True(pieces.Count > 5);
        Assert.Equal(outcome.Text, string.Concat(pieces));
        Assert.Equal(FinishReason.Length, outcome.Reason);
    }

    [Fact]
    public async Task TryEnqueue_PromptPastContext_ThrowsArgumentException()
    {
        using var lm = LanguageModel.Load(stories.Require());
        await using var scheduler = new GenerationScheduler(lm, new SchedulerOptions());
        var request = new GenerationRequest(lm.Encode(string.Join(" ", Enumerable.Repeat("cat", 500))), new SamplingOptions { MaxNewTokens = 100 });
        var e = Assert.Throws<ArgumentException>(() => scheduler.TryEnqueue(request, Token, out _));
        Assert.Contains("context of 512", e.Message);
        Assert.Equal(0, scheduler.InFlight);
    }
}
