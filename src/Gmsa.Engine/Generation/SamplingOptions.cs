namespace Gmsa.Engine.Generation;

/// <summary>How tokens are chosen and when a sequence stops. Temperature 0 means greedy decoding.</summary>
public sealed record SamplingOptions
{
    public int MaxNewTokens { get; init; } = 128;
    public double Temperature { get; init; } = 0.0;
    /// <summary>Keep only the k most likely tokens; 0 keeps all.</summary>
    public int TopK { get; init; }
    /// <summary>Keep the smallest set of tokens whose probability reaches p; 1 keeps all.</summary>
    public double TopP { get; init; } = 1.0;
    /// <summary>Divides positive (multiplies negative) logits of tokens already seen; 1 is off (GMSA's code uses 1.3).</summary>
    public double RepetitionPenalty { get; init; } = 1.0;
    /// <summary>
    /// OpenAI's: subtracted from a token's logit once for every time this sequence has generated it; 0 is off, -2 to 2.
    /// Counts generated tokens only (not the prompt), as vLLM does.
    /// </summary>
    public double FrequencyPenalty { get; init; }
    /// <summary>OpenAI's: subtracted once from the logit of every token this sequence has generated; 0 is off, -2 to 2.</summary>
    public double PresencePenalty { get; init; }
    public long Seed { get; init; } = 0;
    /// <summary>Token ids that end a sequence; the model's eos ids are added by the caller.</summary>
    public IReadOnlyList<int> StopTokenIds { get; init; } = [];
    /// <summary>Text that ends a sequence (OpenAI's `stop`): generation stops as soon as one appears, and the text ends before it.</summary>
    public IReadOnlyList<string> StopSequences { get; init; } = [];

    /// <summary>
    /// Ids at or above this are never chosen. Qwen configs pad vocab_size past the tokenizer's last id;
    /// a sampled padding id would have no text.
    /// </summary>
    public int? VocabLimit { get; init; }

    public bool Greedy => Temperature <= 0;

    /// <summary>Whether the generated tokens' counts change the logits (frequency or presence penalty set).</summary>
    public bool PenalizesGenerated => FrequencyPenalty != 0 || PresencePenalty != 0;

    /// <summary>Throws ArgumentException with the offending field named.</summary>
    public void Validate()
    {
        if (MaxNewTokens < 1) throw new ArgumentException($"max new tokens must be >= 1, got {MaxNewTokens}");
        if (!double.IsFinite(Temperature) || Temperature < 0) throw new ArgumentException($"temperature must be a finite number >= 0, got {Temperature}");
        if (TopK < 0) throw new ArgumentException($"top-k must be >= 0, got {TopK}");
        if (!(TopP > 0 && TopP <= 1)) throw new ArgumentException($"top-p must be in (0, 1], got {TopP}");
        if (!(RepetitionPenalty > 0) || !double.IsFinite(RepetitionPenalty)) throw new ArgumentException($"repetition penalty must be a finite number > 0, got {RepetitionPenalty}");
        if (!(Math.Abs(FrequencyPenalty) <= 2)) throw new ArgumentException($"frequency penalty must be in [-2, 2], got {FrequencyPenalty}");
        if (!(Math.Abs(PresencePenalty) <= 2)) throw new ArgumentException($"presence penalty must be in [-2, 2], got {PresencePenalty}");
        if (StopSequences.Any(string.IsNullOrEmpty)) throw new ArgumentException("stop sequences must be non-empty");
        if (VocabLimit is < 1) throw new ArgumentException($"vocab limit must be >= 1, got {VocabLimit}");
    }
}
