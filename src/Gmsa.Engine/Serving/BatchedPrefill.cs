using Gmsa.Engine.Generation;
using Gmsa.Engine.Model;
using static TorchSharp.torch;

namespace Gmsa.Engine.Serving;

// Legend: B prompts, L the longest prompt (the others left-padded to it), V vocab.

/// <summary>
/// Several fresh prompts prefilled by one left-padded forward instead of one forward each
/// (<see cref="SchedulerOptions.BatchedPrefill"/>). Why: a short prompt's forward is small matrices and per-op overhead,
/// and prompts that arrive together (a static batch, a burst) share both. The cost: a prompt's keys come from a padded
/// batch's kernels rather than its own, so its text may differ in a near tie from the text it gets alone, which is why
/// it is off by default. Runs on the model thread.
/// </summary>
internal static class BatchedPrefill
{
    /// <summary>Prefills <paramref name="jobs"/> (each <see cref="PrefillJob.FreshPrompt"/> non-null) together and completes each.</summary>
    public static void Run(CausalLM model, IReadOnlyList<PrefillJob> jobs, int padId)
    {
        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        var prompts = jobs.Select(j => j.FreshPrompt ?? throw new ArgumentException("a job has started or has a soft prefix", nameof(jobs))).ToArray();
        var (ids, mask) = PromptBatch.LeftPad(prompts, padId, model.Device);                           // [B, L]
        using var shared = new KvCache(model.Config.NumHiddenLayers, ids.shape[1]);
        using var output = model.forward(ids, attentionMask: mask, cache: shared, lastTokenOnly: true);
        var logits = output.Logits.squeeze(1);                                                            // [B, V]
        for (int r = 0; r < jobs.Count; r++) jobs[r].CompleteFrom(shared, r, logits.narrow(0, r, 1));
    }
}
