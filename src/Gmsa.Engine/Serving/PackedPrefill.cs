using Gmsa.Engine.Model;
using static TorchSharp.torch;

namespace Gmsa.Engine.Serving;

/// <summary>
/// The chunks of several prefilling sequences read by one forward, packed end to end without padding
/// (<see cref="CausalLM.PrefillPacked"/>), as vLLM batches prompts of different lengths. Why: a short prompt's forward
/// is small matrices and per-op overhead, which prompts arriving together share. Each sequence still gets the keys and
/// logits of its prefill alone, so it costs no batch invariance. Runs on the model thread, under the jobs' adapter.
/// </summary>
internal static class PackedPrefill
{
    /// <summary>Reads each job's next <c>N</c> positions in one forward and records them (<see cref="PrefillJob.Read"/>).</summary>
    public static void Run(CausalLM model, IReadOnlyList<(PrefillJob Job, int N)> chunks)
    {
        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        var logits = model.PrefillPacked(chunks.Select(c => c.Job.Chunk(c.N)).ToArray());
        for (int i = 0; i < chunks.Count; i++) chunks[i].Job.Read(chunks[i].N, logits[i]);
    }
}
