using System.Diagnostics;
using System.Text;
using Gmsa.Engine.Generation;
using Gmsa.Engine.Text;
using static TorchSharp.torch;

namespace Gmsa.Engine.Serving;

/// <summary>
/// One sequence in the scheduler: its own sampler and seeded generator (so its tokens never depend on its batch mates),
/// stop ids, repetition history, streaming text decoder, and the timings its outcome reports.
/// </summary>
internal sealed class SequenceRow
{
    readonly Sampler sampler;
    readonly HashSet<int> stops;
    readonly List<int> history;           // what the repetition penalty looks at: prompt text tokens, then generated ones
    readonly TokenStreamDecoder decoder;
    readonly StopSequenceFilter stopText;
    readonly StringBuilder text = new();
    readonly bool penalize;
    long decodeStartedAt;
    Activity? prefillSpan, decodeSpan;
    double batchRowsSum;
    int steps;

    public SequenceRow(ScheduledGeneration generation, SamplingOptions sampling, TextTokenizer tokenizer, Device device)
    {
        Generation = generation;
        Sampling = sampling;
        sampler = new Sampler(sampling, device);
        stops = sampling.StopTokenIds.ToHashSet();
        penalize = sampling.RepetitionPenalty != 1.0;
        // As TokenGenerator: a plain prompt's tokens count as seen; soft tokens have no ids, so only generated ones do.
        history = penalize && generation.Request.SoftPrefix is null ? [.. generation.Request.PromptTokens] : [];
        stopText = new StopSequenceFilter(sampling.StopSequences);
        decoder = tokenizer.CreateStreamDecoder();
        foreach (var id in generation.Request.PromptTokens) decoder.Push(id); // so the first piece keeps its leading space
    }

    public ScheduledGeneration Generation { get; }
    public GenerationRequest Request => Generation.Request;
    public SamplingOptions Sampling { get; }
    public List<int> Tokens { get; } = [];
    public FinishReason? Reason { get; private set; }
    public int LastToken => Tokens[^1];
    public TimeSpan QueueWait { get; set; }
    public TimeSpan Prefill { get; set; }

    /// <summary>Ends the queue span (admission until now) and opens the prefill span.</summary>
    public void PrefillStarted()
    {
        ServingTelemetry.Begin("gmsa.queue", Generation.Parent, ServingTelemetry.WallClock(Generation.EnqueuedAt)).End();
        prefillSpan = ServingTelemetry.Begin("gmsa.prefill", Generation.Parent, DateTimeOffset.UtcNow)
            ?.SetTag("gmsa.prompt_tokens", Request.InputLength).SetTag("gmsa.soft_tokens", (int)(Request.SoftPrefix?.shape[0] ?? 0));
    }

    /// <summary>Picks this row's next token from its logits [1, V] with its own settings and generator.</summary>
    public int Sample(Tensor logits)
    {
        using var scope = NewDisposeScope();
        var seen = penalize && history.Count > 0 ? tensor(history.Select(i => (long)i).ToArray(), [1, history.Count], device: logits.device) : null;
        var generated = Sampling.PenalizesGenerated && Tokens.Count > 0
            ? tensor(Tokens.Select(i => (long)i).ToArray(), [1, Tokens.Count], device: logits.device) : null;
        return (int)sampler.Next(logits, seen, generated).item<long>();
    }

    /// <summary>
    /// Takes a sampled token: stop at a stop id, append and stream, stop once its text completes a stop sequence (the text
    /// before it kept), or end at the length limit. True once the row is done.
    /// </summary>
    public bool Accept(int token)
    {
        if (Tokens.Count == 0)
        {
            decodeStartedAt = Stopwatch.GetTimestamp();
            prefillSpan.End();
            decodeSpan = ServingTelemetry.Begin("gmsa.decode", Generation.Parent, DateTimeOffset.UtcNow);
        }
        if (stops.Contains(token)) { Reason = FinishReason.Stop; return true; }
        Tokens.Add(token);
        if (penalize) history.Add(token);
        if (Release(decoder.Push(token))) { Reason = FinishReason.Stop; return true; }
        if (Tokens.Count >= Sampling.MaxNewTokens) { Reason = FinishReason.Length; return true; }
        return false;
    }

    /// <summary>Ends whatever span is open when the row leaves without completing (cancelled or failed).</summary>
    public void Abandon()
    {
        prefillSpan?.SetStatus(ActivityStatusCode.Error, "abandoned").End();
        decodeSpan?.SetStatus(ActivityStatusCode.Error, "abandoned").End();
        prefillSpan = decodeSpan = null;
    }

    /// <summary>Counts a decode step this row took part in, with how many rows shared it.</summary>
    public void SharedStep(int rows)
    {
        batchRowsSum += rows;
        steps++;
    }

    /// <summary>Streams what the stop-sequence filter lets through of a decoded piece; true when a stop sequence ended the text.</summary>
    bool Release(string piece)
    {
        if (piece.Length == 0) return false;
        var (ready, stopped) = stopText.Push(piece);
        Emit(ready);
        return stopped;
    }

    void Emit(string piece)
    {
        if (piece.Length == 0) return;
        text.Append(piece);
        Generation.Write(piece);
    }

    /// <summary>Flushes the text decoder and ends the spans; returns the outcome the scheduler completes the request with.</summary>
    public GenerationOutcome Finish()
    {
        if (!stopText.Stopped && Release(decoder.Flush())) Reason = FinishReason.Stop;
        Emit(stopText.Flush());    // held back for a stop sequence that never came
        var decode = Tokens.Count > 1 ? Stopwatch.GetElapsedTime(decodeStartedAt) : TimeSpan.Zero;
        double rate = decode > TimeSpan.Zero ? (Tokens.Count - 1) / decode.TotalSeconds : 0;
        int batch = steps > 0 ? (int)Math.Round(batchRowsSum / steps) : 1;
        decodeSpan?.SetTag("gmsa.completion_tokens", Tokens.Count).SetTag("gmsa.batch_size", batch).SetTag("gmsa.finish_reason", (Reason ?? FinishReason.Length).ToString());
        decodeSpan.End();
        return new GenerationOutcome(text.ToString(), Reason ?? FinishReason.Length, Request.InputLength, Tokens.Count, QueueWait, Prefill, rate, batch);
    }
}
