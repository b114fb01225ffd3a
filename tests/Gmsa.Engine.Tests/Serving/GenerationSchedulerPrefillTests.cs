using Gmsa.Engine.Generation;
using Gmsa.Engine.Model;
using Gmsa.Engine.Serving;
using Gmsa.Engine.Tests.Golden;
using TorchSharp;
using static TorchSharp.torch;
using static Gmsa.Engine.Tests.Serving.SchedulerTesting;

namespace Gmsa.Engine.Tests.Serving;

/// <summary>Prefill in the scheduler: prompts packed into one forward and prompts cut into chunks, each text equal to its request alone.</summary>
public sealed class GenerationSchedulerPrefillTests(Stories260kFixture stories) : IClassFixture<Stories260kFixture>
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task PackedPrefill_PromptsAdmittedTogether_OneForwardOrOneEachAndEachTextEqualsAlone(bool batchedPrefill)
    {
        using var lm = LanguageModel.Load(stories.Require());
        await using var scheduler = new GenerationScheduler(lm, new SchedulerOptions { MaxBatchSize = 8, BatchedPrefill = batchedPrefill });
        var reports = new List<BatchReport>();
        scheduler.BatchCompleted += r => { lock (reports) reports.Add(r); };
        GenerationRequest[] requests =
        [
            Greedy(lm, "Once upon a time", 20),
            Greedy(lm, "Tom and his dog went to the", 12),
            Greedy(lm, "Lily", 16),
            new(lm.Encode("One day"), new SamplingOptions { MaxNewTokens = 14, Temperature = 0.8, Seed = 2 }),
        ];
        ScheduledGeneration[] generations;
        using (new BusyModel(lm)) generations = requests.Select(r => Enqueue(scheduler, r)).ToArray();   // all admitted together
        var outcomes = await Task.WhenAll(generations.Select(g => g.Completion)).WaitAsync(Bound, Token);

        int forwards = batchedPrefill ? 1 : requests.Length;
        Assert.Contains(reports, r => r.PromptTokens == requests.Sum(q => q.PromptTokens.Count) && r.PrefillForwards == forwards);
        for (int i = 0; i < requests.Length; i++) Assert.Equal(await AloneAsync(lm, requests[i]), outcomes[i].Text);
    }

    [Fact]
    public async Task PackedPrefill_Bf16GmsaTinyPromptsAdmittedTogether_EachTextEqualsAlone()
    {
        // The shipped model in its own dtype, every prompt in one packed forward and then decoding together: the prefill
        // gives each prompt its alone values (libtorch's bf16 GEMM rows do not depend on the other rows), and the decode
        // step's tiles need 512-bit vectors for the same.
        Assert.SkipUnless(System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated, "the batch-invariant bf16 tiles need native 512-bit vectors");
        using var lm = LanguageModel.Load(RepoFiles.Path("models/gmsa-tiny"));
        await using var scheduler = new GenerationScheduler(lm, new SchedulerOptions { MaxBatchSize = 8 });
        var reports = new List<BatchReport>();
        scheduler.BatchCompleted += r => { lock (reports) reports.Add(r); };
        GenerationRequest[] requests =
        [
            Greedy(lm, "It was a cold morning in", 24),
            Greedy(lm, "The ship sailed", 7),
            new(lm.Encode("Elizabeth looked at her sister and"), new SamplingOptions { MaxNewTokens = 16, Temperature = 0.8, TopP = 0.95, Seed = 4 }),
            new(lm.Encode("And God said unto"), new SamplingOptions { MaxNewTokens = 20, RepetitionPenalty = 1.3 }),
            Greedy(lm, "The history of the country of France begins with the people who lived there before the Romans came", 18),
        ];
        ScheduledGeneration[] generations;
        using (new BusyModel(lm)) generations = requests.Select(r => Enqueue(scheduler, r)).ToArray();
        var outcomes = await Task.WhenAll(generations.Select(g => g.Completion)).WaitAsync(Bound, Token);

        Assert.Contains(reports, r => r.PromptTokens == requests.Sum(q => q.PromptTokens.Count) && r.PrefillForwards == 1);
        for (int i = 0; i < requests.Length; i++) Assert.Equal(await AloneAsync(lm, requests[i]), outcomes[i].Text);
    }

    [Fact]
    public async Task PackedPrefill_ShortPromptsBeforeALongOne_ShareAForwardWithinTheChunkBudgetAndEachTextEqualsAlone()
    {
        // The two short prompts fit one chunk budget together and go in one forward; the long prompt's first chunk (the
        // budget whole) does not fit what they leave, so it waits for the next iteration instead of being cut shorter.
        using var lm = LanguageModel.Load(stories.Require());
        await using var scheduler = new GenerationScheduler(lm, new SchedulerOptions { PrefillChunkTokens = 16 });
        var reports = new List<BatchReport>();
        scheduler.BatchCompleted += r => { lock (reports) reports.Add(r); };
        GenerationRequest[] requests =
        [
            Greedy(lm, "Tom had a red ball", 10),
            Greedy(lm, "The sun", 10),
            Greedy(lm, "Once upon a time, there was a little girl named Lily. She loved to play", 10),
        ];
        int shortPrompts = requests[0].PromptTokens.Count + requests[1].PromptTokens.Count;
        Assert.InRange(shortPrompts, 2, 15);
        Assert.True(requests[2].PromptTokens.Count > 16);
        ScheduledGeneration[] generations;
        using (new BusyModel(lm)) generations = requests.Select(r => Enqueue(scheduler, r)).ToArray();
        var outcomes = await Task.WhenAll(generations.Select(g => g.Completion)).WaitAsync(Bound, Token);

        Assert.All(reports, r => Assert.InRange(r.PromptTokens, 0, 16));
        Assert.Equal(shortPrompts, reports.First(r => r.PromptTokens > 0).PromptTokens);
        Assert.Equal(1, reports.First(r => r.PromptTokens > 0).PrefillForwards);
        Assert.Equal(requests.Sum(q => q.PromptTokens.Count), reports.Sum(r => r.PromptTokens));
        for (int i = 0; i < requests.Length; i++) Assert.Equal(await AloneAsync(lm, requests[i]), outcomes[i].Text);
    }

    [Fact]
    public async Task ChunkedPrefill_PromptLongerThanChunk_EqualsWholePrefill()
    {
        using var lm = LanguageModel.Load(stories.Require());
        await using var scheduler = new GenerationScheduler(lm, new SchedulerOptions { PrefillChunkTokens = 7 });
        var request = Greedy(lm, "Once upon a time, there was a little girl named Lily. She loved to play outside in the park with her", 30);
        Assert.True(request.PromptTokens.Count > 3 * 7);
        var outcome = await Enqueue(scheduler, request).Completion.WaitAsync(Bound, Token);
        Assert.Equal(await AloneAsync(lm, request), outcome.Text);
    }
}
