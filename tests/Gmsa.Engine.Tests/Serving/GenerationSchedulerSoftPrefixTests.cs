using Gmsa.Engine.Generation;
using Gmsa.Engine.Model;
using Gmsa.Engine.Serving;
using Gmsa.Engine.Tests.Golden;
using TorchSharp;
using static TorchSharp.torch;
using static Gmsa.Engine.Tests.Serving.SchedulerTesting;

namespace Gmsa.Engine.Tests.Serving;

/// <summary>Answers over soft tokens in the scheduler: embeddings before the prompt, cached prefixes and decoder adapters side by side.</summary>
public sealed class GenerationSchedulerSoftPrefixTests(Stories260kFixture stories) : IClassFixture<Stories260kFixture>
{
    [Fact]
    public async Task SoftPrefix_EmbeddingsBeforeThePrompt_EqualGenerateFromEmbeddings()
    {
        using var lm = LanguageModel.Load(stories.Require());
        await using var scheduler = new GenerationScheduler(lm, new SchedulerOptions());
        var prompt = lm.Tokenizer.Encode(" Tom", addBos: false);
        var sampling = new SamplingOptions { MaxNewTokens = 20 };
        var (soft, expected) = await lm.Runner.RunAsync(() =>
        {
            using var inference = inference_mode();
            // Three "soft tokens": embeddings of a real prefix, so the continuation is a sensible one.
            var prefix = lm.Model.Embed(tensor(new long[] { 1, 400, 300 }, [1, 3])).squeeze(0).DetachFromDisposeScope(); // [3, D]
            using var scope = NewDisposeScope();
            var embeds = cat([prefix.unsqueeze(0), lm.Model.Embed(tensor(prompt.Select(t => (long)t).ToArray(), [1, prompt.Count]))], 1);
            var mask = ones(1, embeds.shape[1], dtype: ScalarType.Int64);
            var text = lm.DecodeText([prompt], null, onToken =>
                TokenGenerator.GenerateFromEmbeddings(lm.Model, embeds, mask, lm.WithModelStops(sampling), lm.PadId, onToken)).Texts[0];
            return (prefix, text);
        });
        try
        {
            var outcome = await Enqueue(scheduler, new GenerationRequest(prompt, sampling) { SoftPrefix = soft }).Completion.WaitAsync(Bound, Token);
            Assert.Equal(expected, outcome.Text);
            Assert.Equal(3 + prompt.Count, outcome.PromptTokens);
        }
        finally { await lm.Runner.RunAsync(soft.Dispose); }
    }

    [Fact]
    public async Task SoftPrefix_SecondQuestionOnTheSamePrefix_PrefillsOnlyItsOwnTokensAndEqualsGenerateFromEmbeddings()
    {
        using var lm = LanguageModel.Load(stories.Require());
        await using var scheduler = new GenerationScheduler(lm, new SchedulerOptions());
        var sampling = new SamplingOptions { MaxNewTokens = 16 };
        var prompts = new[] { " Tom", " The cat" }.Select(p => lm.Tokenizer.Encode(p, addBos: false)).ToArray();
        var (soft, expected) = await lm.Runner.RunAsync(() =>
        {
            using var inference = inference_mode();
            var prefix = lm.Model.Embed(tensor(new long[] { 1, 400, 300, 45, 12 }, [1, 5])).squeeze(0).DetachFromDisposeScope(); // [5, D]
            var texts = prompts.Select(prompt =>
            {
                using var scope = NewDisposeScope();
                var embeds = cat([prefix.unsqueeze(0), lm.Model.Embed(tensor(prompt.Select(t => (long)t).ToArray(), [1, prompt.Count]))], 1);
                var mask = ones(1, embeds.shape[1], dtype: ScalarType.Int64);
                return lm.DecodeText([prompt], null, onToken =>
                    TokenGenerator.GenerateFromEmbeddings(lm.Model, embeds, mask, lm.WithModelStops(sampling), lm.PadId, onToken)).Texts[0];
            }).ToArray();
            return (prefix, texts);
        });
        int prefilled = 0;
        scheduler.BatchCompleted += report => Interlocked.Add(ref prefilled, report.PromptTokens);
        try
        {
            for (int i = 0; i < 2; i++)
            {
                Volatile.Write(ref prefilled, 0);
                var outcome = await Enqueue(scheduler, new GenerationRequest(prompts[i], sampling) { SoftPrefix = soft }).Completion.WaitAsync(Bound, Token);
                Assert.Equal(expected[i], outcome.Text);
                Assert.Equal(5 + prompts[i].Count, outcome.PromptTokens);
                Assert.Equal(i == 0 ? 5 + prompts[i].Count : prompts[i].Count, Volatile.Read(ref prefilled));   // the second copies the prefix in
            }
            Assert.Equal((1, 1), (scheduler.SoftPrefixes!.Hits, scheduler.SoftPrefixes.Misses));
        }
        finally { await lm.Runner.RunAsync(soft.Dispose); }
    }

    [Fact]
    public async Task DecoderAdapter_RowsOfThreeAdaptersAtOnce_EachEqualsItsAdapterAlone()
    {
        using var lm = LanguageModel.Load(stories.Require());
        await lm.Runner.RunAsync(() =>
        {
            // A trained adapter and a served one, both perturbed so that each changes the text.
            var options = new LoraOptions(Rank: 2, Alpha: 2, Dropout: 0);
            Lora.AddAdapters(lm.Model, options, seed: 4, Lora.InDecoderBlocks);
            using var noGrad = no_grad();
            var generator = new Generator(11);
            foreach (var (_, p) in Lora.AdapterParameters(lm.Model)) p.add_(randn(p.shape, generator: generator) * 0.3);
            var other = Lora.AdapterParameters(lm.Model).ToDictionary(p => p.Name, p => randn(p.Parameter.shape, generator: generator) * 0.3);
            Lora.AddServedAdapters(lm.Model, "other", other, options.Scale);
            Lora.Activate(lm.Model, null);
            lm.Model.eval();
            return true;
        });
        string?[] adapters = [null, Lora.DefaultAdapter, "other"];
        GenerationRequest Request(string? adapter) => Greedy(lm, "Once upon a time", 20) with { DecoderAdapter = adapter };
        var alone = new List<string>();
        foreach (var adapter in adapters)
        {
            await lm.Runner.RunAsync(() => Lora.Activate(lm.Model, adapter));
            alone.Add(await AloneAsync(lm, Request(adapter)));
        }
        await lm.Runner.RunAsync(() => Lora.Activate(lm.Model, null));
        Assert.Equal(3, alone.Distinct().Count());   // the adapters matter, so a row on the wrong one would show

        await using var scheduler = new GenerationScheduler(lm, new SchedulerOptions { MaxBatchSize = 8 });
        ScheduledGeneration[] generations;
        using (new BusyModel(lm)) generations = adapters.Select(a => Enqueue(scheduler, Request(a))).ToArray();   // all admitted together
        for (int i = 0; i < adapters.Length; i++)
            Assert.Equal(alone[i], (await generations[i].Completion.WaitAsync(Bound, Token)).Text);
    }
}
