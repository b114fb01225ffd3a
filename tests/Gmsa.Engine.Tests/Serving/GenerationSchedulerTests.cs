using Gmsa.Engine.Generation;
using Gmsa.Engine.Model;
using Gmsa.Engine.Serving;
using Gmsa.Engine.Tests.Golden;
using TorchSharp;
using static TorchSharp.torch;
using static Gmsa.Engine.Tests.Serving.SchedulerTesting;

namespace Gmsa.Engine.Tests.Serving;

/// <summary>Admission, continuous batching and cancellation of the scheduler over the real stories260K model (float32).</summary>
public sealed class GenerationSchedulerTests(Stories260kFixture stories) : IClassFixture<Stories260kFixture>
{
    [Fact]
    public async Task TryEnqueue_CapacityReached_RefusesAtOnceAndAdmitsAgainAfterwards()
    {
        using var lm = LanguageModel.Load(stories.Require());
        await using var scheduler = new GenerationScheduler(lm, new SchedulerOptions { Capacity = 1 });
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
    public async Task Continuous_RowsJoiningAndLeavingWithOwnSettings_EqualEachRequestAlone()
    {
        using var lm = LanguageModel.Load(stories.Require());
        await using var scheduler = new GenerationScheduler(lm, new SchedulerOptions { MaxBatchSize = 8 });
        GenerationRequest[] requests =
        [
            Greedy(lm, "Once upon a time", 60),
            new(lm.Encode("The cat"), new SamplingOptions { MaxNewTokens = 25, Temperature = 0.9, TopP = 0.9, Seed = 3 }),
            Greedy(lm, "Tom and his dog went to the", 5),
            new(lm.Encode("Lily saw a big"), new SamplingOptions { MaxNewTokens = 40, Temperature = 0.7, TopK = 20, Seed = 8 }),
            new(lm.Encode("One day"), new SamplingOptions { MaxNewTokens = 30, RepetitionPenalty = 1.3 }),
            new(lm.Encode("Tom went"), new SamplingOptions { MaxNewTokens = 30, Temperature = 0.8, Seed = 5, FrequencyPenalty = 0.8, PresencePenalty = 0.5 }),
        ];
        var first = Enqueue(scheduler, requests[0]);
        Assert.True(await first.Text.WaitToReadAsync(Token).AsTask().WaitAsync(Bound, Token)); // decoding when the others arrive
        var later = requests.Skip(1).Select(r => Enqueue(scheduler, r)).ToArray();
        var outcomes = await Task.WhenAll(later.Prepend(first).Select(g => g.Completion)).WaitAsync(Bound, Token);

        Assert.Contains(outcomes, o => o.BatchSize > 1);
        for (int i = 0; i < requests.Length; i++)
        {
            Assert.Equal(await AloneAsync(lm, requests[i]), outcomes[i].Text);
            Assert.Equal(requests[i].PromptTokens.Count, outcomes[i].PromptTokens);
        }
    }

    [Fact]
    public async Task Continuous_Bf16GmsaTinyRowsInCacheSlots_EqualEachRequestAlone()
    {
        // The shipped model in its own dtype: prefill gives each prompt its alone values, and on CPUs with 512-bit vectors the decode step's
        // bf16 arithmetic does not depend on the batch (WideTiles), so a request's text does not depend on its company.
        Assert.SkipUnless(System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated, "the batch-invariant bf16 tiles need native 512-bit vectors");
        using var lm = LanguageModel.Load(RepoFiles.Path("models/gmsa-tiny"));
        await using var scheduler = new GenerationScheduler(lm, new SchedulerOptions { MaxBatchSize = 8 });
        GenerationRequest[] requests =
        [
            Greedy(lm, "It was a cold morning in", 40),
            Greedy(lm, "The ship sailed", 7),
            new(lm.Encode("Elizabeth looked at her sister and"), new SamplingOptions { MaxNewTokens = 24, Temperature = 0.8, TopP = 0.95, Seed = 4 }),
            new(lm.Encode("And God said unto"), new SamplingOptions { MaxNewTokens = 30, RepetitionPenalty = 1.3 }),
            Greedy(lm, "The history of the country", 18),
        ];
        var first = Enqueue(scheduler, requests[0]);
        Assert.True(await first.Text.WaitToReadAsync(Token).AsTask().WaitAsync(Bound, Token));   // decoding when the others arrive
        var later = requests.Skip(1).Select(r => Enqueue(scheduler, r)).ToArray();
        var outcomes = await Task.WhenAll(later.Prepend(first).Select(g => g.Completion)).WaitAsync(Bound, Token);

        Assert.Contains(outcomes, o => o.BatchSize > 1);
        for (int i = 0; i < requests.Length; i++) Assert.Equal(await AloneAsync(lm, requests[i]), outcomes[i].Text);
    }

    [Fact]
    public async Task StopSequences_TextReachesAStop_GenerationEndsThereWithTheTextBeforeIt()
    {
        using var lm = LanguageModel.Load(stories.Require());
        await using var scheduler = new GenerationScheduler(lm, new SchedulerOptions());
        var free = await AloneAsync(lm, Greedy(lm, "Once upon a time", 60));
        var stop = free.Split(' ', StringSplitOptions.RemoveEmptyEntries)[4];
        string expected = free[..free.IndexOf(stop, StringComparison.Ordinal)];
        var request = Greedy(lm, "Once upon a time", 60) with { Sampling = new SamplingOptions { MaxNewTokens = 60, StopSequences = [stop] } };

        var generation = Enqueue(scheduler, request);
        var streamed = string.Concat(await generation.Text.ReadAllAsync(Token).ToArrayAsync(Token));
        var outcome = await generation.Completion.WaitAsync(Bound, Token);

        Assert.Equal(expected, outcome.Text);
        Assert.Equal(expected, streamed);
        Assert.Equal(FinishReason.Stop, outcome.Reason);
        // Generation itself stopped: the tokens are those up to the stop's text, not the 60 of an after-the-fact cut.
        Assert.InRange(outcome.CompletionTokens, 1, lm.Tokenizer.Encode(free[..(expected.Length + stop.Length)], addBos: false).Count + 2);
    }

    [Fact]
    public async Task Continuous_ShortRequestBehindLongOne_FinishesWhileTheLongOneRuns()
    {
        using var lm = LanguageModel.Load(stories.Require());
        await using var scheduler = new GenerationScheduler(lm, new SchedulerOptions());
        var longOne = Enqueue(scheduler, Greedy(lm, "Once upon a time", 400));
        Assert.True(await longOne.Text.WaitToReadAsync(Token).AsTask().WaitAsync(Bound, Token));
        var shortOne = Enqueue(scheduler, Greedy(lm, "The cat", 4));
        var outcome = await shortOne.Completion.WaitAsync(Bound, Token);
        Assert.False(longOne.Completion.IsCompleted, "the short request waited for the long one");
        Assert.Equal(2, outcome.BatchSize);
        await longOne.Completion.WaitAsync(Bound, Token);
    }

    [Fact]
    public async Task Static_RequestArrivingWhileBatchRuns_WaitsForTheBatchToEnd()
    {
        using var lm = LanguageModel.Load(stories.Require());
        await using var scheduler = new GenerationScheduler(lm, new SchedulerOptions { Policy = BatchingPolicy.Static, BatchWindow = TimeSpan.Zero });
        var running = Enqueue(scheduler, Greedy(lm, "Once upon a time", 100));
        Assert.True(await running.Text.WaitToReadAsync(Token).AsTask().WaitAsync(Bound, Token));
        var late = Enqueue(scheduler, Greedy(lm, "The cat", 4));
        var lateOutcome = await late.Completion.WaitAsync(Bound, Token);
        Assert.True(running.Completion.IsCompleted, "a late request joined a running static batch");
        Assert.Equal(1, lateOutcome.BatchSize);
        Assert.Equal(await AloneAsync(lm, Greedy(lm, "The cat", 4)), lateOutcome.Text);
    }

    [Fact]
    public async Task Cancellation_QueuedRequest_FreesItsSlotAtOnceAndNeverRuns()
    {
        using var lm = LanguageModel.Load(stories.Require());
        await using var scheduler = new GenerationScheduler(lm, new SchedulerOptions { Capacity = 2, MaxBatchSize = 1 });
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
        Assert.Equal(0, scheduler.InFlight);
    }

    [Fact]
    public async Task Cancellation_RowMidBatch_LeavesAtOnceAndTheOthersGoOn()
    {
        using var lm = LanguageModel.Load(stories.Require());
        await using var scheduler = new GenerationScheduler(lm, new SchedulerOptions());
        var steps = 0;
        scheduler.BatchCompleted += r => Interlocked.Add(ref steps, r.Size);
        using var leaving = new CancellationTokenSource();
        var staying = Greedy(lm, "Lily saw", 80);
        var cancelled = Enqueue(scheduler, Greedy(lm, "Once upon a time", 400), leaving.Token);
        var other = Enqueue(scheduler, staying);
        Assert.True(await cancelled.Text.WaitToReadAsync(Token).AsTask().WaitAsync(Bound, Token));
        leaving.Cancel();
        Assert.Equal(1, scheduler.InFlight);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled.Completion.WaitAsync(Bound, Token));

        var outcome = await other.Completion.WaitAsync(Bound, Token);
        Assert.Equal(await AloneAsync(lm, staying), outcome.Text);
        Assert.True(steps < 400, $"the cancelled row kept decoding ({steps} row-steps)");
    }

    [Theory]
    [InlineData(1)]   // ends in its prefill
    [InlineData(6)]   // ends in a decode step
    public async Task BatchCompleted_EveryIteration_ReportedBeforeItsRequestsComplete(int maxNewTokens)
    {
        // Whoever sees an outcome finds every step that produced it reported: metrics and benchmarks read the reports
        // once their requests are done. So no report may see its own request already complete.
        using var lm = LanguageModel.Load(stories.Require());
        await using var scheduler = new GenerationScheduler(lm, new SchedulerOptions());
        ScheduledGeneration? generation = null;
        var seenDone = new List<bool>();
        int generated = 0;
        scheduler.BatchCompleted += r =>
        {
            lock (seenDone) seenDone.Add(generation?.Completion.IsCompleted ?? false);
            Interlocked.Add(ref generated, r.GeneratedTokens);
        };
        using (new BusyModel(lm)) generation = Enqueue(scheduler, Greedy(lm, "Lily saw", maxNewTokens));
        var outcome = await generation.Completion.WaitAsync(Bound, Token);

        Assert.Equal(maxNewTokens, outcome.CompletionTokens);
        Assert.Equal(outcome.CompletionTokens, Volatile.Read(ref generated));
        lock (seenDone)
        {
            Assert.NotEmpty(seenDone);
            Assert.All(seenDone, Assert.False);
        }
    }

    [Fact]
    public async Task Streaming_Pieces_ConcatenateToOutcomeText()
    {
        using var lm = LanguageModel.Load(stories.Require());
        await using var scheduler = new GenerationScheduler(lm, new SchedulerOptions());
        var request = new GenerationRequest(lm.Encode("Lily saw"), new SamplingOptions { MaxNewTokens = 40, Temperature = 0.8, TopP = 0.9, Seed = 11 });
        var generation = Enqueue(scheduler, request);
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

    [Fact]
    public async Task TryEnqueue_MaxNewTokensNearIntMax_ThrowsInsteadOfOverflowingPastTheContext()
    {
        // prompt + int.MaxValue once wrapped to a negative sum, passed the check and decoded past the context without end
        using var lm = LanguageModel.Load(stories.Require());
        await using var scheduler = new GenerationScheduler(lm, new SchedulerOptions());
        var request = new GenerationRequest(lm.Encode("Once upon a time"), new SamplingOptions { MaxNewTokens = int.MaxValue });
        var e = Assert.Throws<ArgumentException>(() => scheduler.TryEnqueue(request, Token, out _));
        Assert.Contains("context of 512", e.Message);
        Assert.Equal(0, scheduler.InFlight);
    }

    [Fact]
    public async Task ManyJoinsAndLeaves_LiveTensorCountOnModelThreadStaysFlat()
    {
        using var lm = LanguageModel.Load(stories.Require());
        await using var scheduler = new GenerationScheduler(lm, new SchedulerOptions { MaxBatchSize = 6, PrefillChunkTokens = 5 });
        async Task Round(int seed)
        {
            var requests = Enumerable.Range(0, 12).Select(i => new GenerationRequest(lm.Encode(i % 2 == 0 ? "Once upon a time" : "The dog"),
                new SamplingOptions { MaxNewTokens = 3 + (i * 7 + seed) % 20, Temperature = i % 3 == 0 ? 0 : 0.8, Seed = i, RepetitionPenalty = i % 4 == 0 ? 1.2 : 1 }));
            await Task.WhenAll(requests.Select(r => Enqueue(scheduler, r).Completion)).WaitAsync(Bound, Token);
        }
        long Live() => lm.Runner.Run(() => DisposeScopeManager.Statistics.ThreadTotalLiveCount);
        await Round(0);
        long before = Live();
        for (int seed = 1; seed <= 4; seed++) await Round(seed);
        Assert.Equal(before, Live());
    }

    [Fact]
    public async Task Spans_QueuePrefillDecode_AreChildrenOfTheEnqueuingActivityInOrder()
    {
        using var lm = LanguageModel.Load(stories.Require());
        await using var scheduler = new GenerationScheduler(lm, new SchedulerOptions());
        using var source = new System.Diagnostics.ActivitySource("Gmsa.Tests.Spans");
        var spans = new System.Collections.Concurrent.ConcurrentBag<System.Diagnostics.Activity>();
        using var listener = new System.Diagnostics.ActivityListener
        {
            ShouldListenTo = s => s.Name is ServingTelemetry.SourceName or "Gmsa.Tests.Spans",
            Sample = (ref System.Diagnostics.ActivityCreationOptions<System.Diagnostics.ActivityContext> _) => System.Diagnostics.ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Add,
        };
        System.Diagnostics.ActivitySource.AddActivityListener(listener);

        ScheduledGeneration generation;
        System.Diagnostics.ActivityContext parent;
        using (var request = source.StartActivity("request"))
        {
            parent = request!.Context;
            generation = Enqueue(scheduler, Greedy(lm, "Once upon a time", 10));
        }
        await generation.Completion.WaitAsync(Bound, Token);
        await Task.Delay(100, Token);

        var mine = spans.Where(s => s.TraceId == parent.TraceId && s.Source.Name == ServingTelemetry.SourceName).OrderBy(s => s.StartTimeUtc).ToArray();
        Assert.Equal(["gmsa.queue", "gmsa.prefill", "gmsa.decode"], mine.Select(s => s.OperationName));
        Assert.All(mine, s => Assert.Equal(parent.SpanId, s.ParentSpanId));
        Assert.True(mine[1].StartTimeUtc + mine[1].Duration <= mine[2].StartTimeUtc + TimeSpan.FromMilliseconds(1));
        Assert.Equal(10, (int)mine[2].GetTagItem("gmsa.completion_tokens")!);
    }
}
