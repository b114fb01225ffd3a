using Gmsa.Engine.Generation;
using Gmsa.Engine.Model;
using Gmsa.Engine.Serving;
using Gmsa.Engine.Tests.Golden;
using TorchSharp;
using static TorchSharp.torch;

namespace Gmsa.Engine.Tests.Serving;

/// <summary>What the scheduler's test classes share: bounded waits, request builders, and a way to hold requests queued.</summary>
internal static class SchedulerTesting
{
    internal static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);
    internal static CancellationToken Token => TestContext.Current.CancellationToken;

    internal static GenerationRequest Greedy(LanguageModel lm, string prompt, int maxNewTokens = 12) =>
        new(lm.Encode(prompt), new SamplingOptions { MaxNewTokens = maxNewTokens });

    internal static ScheduledGeneration Enqueue(GenerationScheduler scheduler, GenerationRequest request, CancellationToken? cancellation = null) =>
        scheduler.TryEnqueue(request, cancellation ?? Token, out var g) ? g : throw new InvalidOperationException("refused");

    internal static async Task<string> AloneAsync(LanguageModel lm, GenerationRequest request) =>
        (await lm.CompleteAsync([request.PromptTokens], request.Sampling, cancellation: Token)).Texts[0];

    /// <summary>Occupies the model thread until disposed, so queued requests stay queued (at most 20 s).</summary>
    internal sealed class BusyModel : IDisposable
    {
        readonly ManualResetEventSlim gate = new();
        public BusyModel(LanguageModel lm) => lm.Runner.RunAsync(() => gate.Wait(TimeSpan.FromSeconds(20)));
        public void Dispose() => gate.Set();
    }
}
