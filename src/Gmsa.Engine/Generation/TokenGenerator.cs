using System.Diagnostics;
using Gmsa.Engine.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace Gmsa.Engine.Generation;

public enum FinishReason { Stop, Length, Cancelled }

/// <summary>One generated row: its new tokens (stop token excluded) and why it ended.</summary>
public sealed record GeneratedSequence(IReadOnlyList<int> Tokens, FinishReason Reason);

/// <summary>A batch's output with the timings that throughput figures are made of.</summary>
public sealed record GenerationResult(IReadOnlyList<GeneratedSequence> Sequences, int PromptTokens, TimeSpan Prefill, TimeSpan Decode)
{
    public int GeneratedTokens => Sequences.Sum(s => s.Tokens.Count);
    public double DecodeTokensPerSecond => Decode > TimeSpan.Zero ? GeneratedTokens / Decode.TotalSeconds : 0;
}

/// <summary>
/// Batched autoregressive decoding: one prefill over the left-padded prompts, then one token per row
/// per step through the KV cache; a row that hits a stop token or its budget is finished while the
/// others go on. Must run on the thread that owns the model (see <see cref="ModelRunner"/>).
/// </summary>
public static class TokenGenerator
{
    /// <param name="onToken">called on the model thread as each token is accepted: (row, token id)</param>
    public static GenerationResult Generate(CausalLM model, IReadOnlyList<IReadOnlyList<int>> prompts, SamplingOptions options,
        int padId, Action<int, int>? onToken = null, CancellationToken cancellation = default)
    {
        using var scope = NewDisposeScope();
        var (ids, mask) = PromptBatch.LeftPad(prompts, padId, model.Device);
        return Run(model, ids, null, mask, options, padId, onToken, cancellation);
    }

    /// <summary>
    /// Decoding that starts from input embeddings [B, L, D] (soft tokens followed by an embedded prompt)
    /// with their left-padding mask [B, L].
    /// </summary>
    public static GenerationResult GenerateFromEmbeddings(CausalLM model, Tensor inputsEmbeds, Tensor attentionMask,
        SamplingOptions options, int padId, Action<int, int>? onToken = null, CancellationToken cancellation = default) =>
        Run(model, null, inputsEmbeds, attentionMask, options, padId, onToken, cancellation);

    static GenerationResult Run(CausalLM model, Tensor? ids, Tensor? embeds, Tensor promptMask, SamplingOptions options,
        int padId, Action<int, int>? onToken, CancellationToken cancellation)
    {
        options.Validate();
        // It sees token ids, not text: stop strings are the scheduler's (SequenceRow), which decodes as it goes.
        if (options.StopSequences.Count > 0) throw new ArgumentException("stop strings are applied by the GenerationScheduler; TokenGenerator stops at token ids only");
        using var inference = inference_mode();
        using var scope = NewDisposeScope();
        int batch = (int)promptMask.shape[0];
        var stops = options.StopTokenIds.ToHashSet();
        var sampler = new Sampler(options, model.Device);
        using var cache = new KvCache(model.Config.NumHiddenLayers, promptMask.shape[1] + options.MaxNewTokens);
        var tokens = Enumerable.Range(0, batch).Select(_ => new List<int>()).ToArray();
        var reasons = new FinishReason?[batch];
        bool penalize = options.RepetitionPenalty != 1.0;

        var clock = Stopwatch.StartNew();
        var mask = promptMask.alias();
        var history = penalize && ids is not null ? ids.alias() : null;                 // [B, N]
        Tensor? generated = null;                                                       // [B, G] once a token is out
        var next = sampler.Next(model.forward(ids, embeds, mask, cache: cache, lastTokenOnly: true).Logits.squeeze(1), history);
        var prefill = clock.Elapsed;

        for (int step = 0; ; step++)
        {
            long[] chosen = next.cpu().data<long>().ToArray();
            for (int b = 0; b < batch; b++)
            {
                if (reasons[b] is not null) continue;
                if (stops.Contains((int)chosen[b])) { reasons[b] = FinishReason.Stop; continue; }
                tokens[b].Add((int)chosen[b]);
                onToken?.Invoke(b, (int)chosen[b]);
                if (tokens[b].Count >= options.MaxNewTokens) reasons[b] = FinishReason.Length;
            }
            if (reasons.All(r => r is not null)) break;
            if (cancellation.IsCancellationRequested)
            {
                for (int b = 0; b < batch; b++) reasons[b] ??= FinishReason.Cancelled;
                break;
            }

            // Finished rows keep stepping with padding so the batch stays rectangular.
            for (int b = 0; b < batch; b++) if (reasons[b] is not null) chosen[b] = padId;
            using var stepScope = NewDisposeScope();
            var input = tensor(chosen, [batch, 1], device: model.Device);                // [B, 1]
            var stepMask = cat([mask, ones(batch, 1, dtype: mask.dtype, device: mask.device)], 1);
            var stepHistory = history is null ? (penalize ? input : null) : cat([history, input], 1);
            var stepGenerated = !options.PenalizesGenerated ? null : generated is null ? input : cat([generated, input], 1);
            var logits = model.DecodeStep(chosen, stepMask, cache);                      // [B, V]
            var stepNext = sampler.Next(logits, stepHistory, stepGenerated);
            next.Dispose(); mask.Dispose(); history?.Dispose(); generated?.Dispose();
            next = stepNext.MoveToOuterDisposeScope();
            mask = stepMask.MoveToOuterDisposeScope();
            history = stepHistory?.MoveToOuterDisposeScope();
            generated = stepGenerated?.MoveToOuterDisposeScope();
        }
        var sequences = tokens.Select((t, b) => new GeneratedSequence(t, reasons[b]!.Value)).ToArray();
        int promptTokens = (int)promptMask.sum().item<long>();
        return new GenerationResult(sequences, promptTokens, prefill, clock.Elapsed - prefill);
    }
}
