using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;
using Gmsa.Engine.Checkpoints;
using Gmsa.Engine.Generation;

namespace Gmsa.Api.Contracts;

/// <summary>
/// The decoding fields every generating route takes (completions, chat, answer), declared once with their bounds. Fields
/// left out take the model folder's generation_config.json values (else greedy).
/// </summary>
public abstract record SamplingFields
{
    [Range(1, int.MaxValue, ErrorMessage = "max_tokens must be at least 1")]
    [Description("Tokens to generate at most; default Gmsa:Serving:DefaultMaxTokens, at most Gmsa:Serving:MaxNewTokens.")]
    public int? MaxTokens { get; init; }

    [Range(0.0, double.MaxValue, ErrorMessage = "temperature must be a finite number >= 0")]
    [Description("0 is greedy decoding. Default: the model's generation_config.json (greedy unless it says do_sample).")]
    public double? Temperature { get; init; }

    [Range(0.0, 1.0, MinimumIsExclusive = true, ErrorMessage = "top_p must be in (0, 1]")]
    [Description("Nucleus sampling mass; 1 keeps every token. Default: the model's generation_config.json, else 1.")]
    public double? TopP { get; init; }

    [Range(0, int.MaxValue, ErrorMessage = "top_k must be >= 0")]
    [Description("Keep the k most likely tokens; 0 keeps all. Default: the model's generation_config.json, else 0.")]
    public int? TopK { get; init; }

    [Range(0.0, double.MaxValue, MinimumIsExclusive = true, ErrorMessage = "repetition_penalty must be a finite number > 0")]
    [Description("Penalty on tokens already present; 1 is off. Default: the model's generation_config.json (1.3 for gmsa-tiny), else 1.")]
    public double? RepetitionPenalty { get; init; }

    [Range(-2.0, 2.0, ErrorMessage = "frequency_penalty must be in [-2, 2]")]
    [Description("As OpenAI's: lowers a token's logit by this much for every time the answer has generated it (the prompt does not count); 0 is off (the default).")]
    public double? FrequencyPenalty { get; init; }

    [Range(-2.0, 2.0, ErrorMessage = "presence_penalty must be in [-2, 2]")]
    [Description("As OpenAI's: lowers by this much, once, the logit of every token the answer has generated; 0 is off (the default).")]
    public double? PresencePenalty { get; init; }

    [Description("Sampling seed (default 0). Each request samples with its own generator: its text does not depend on other requests.")]
    public long? Seed { get; init; }

    [Description("Answer with server-sent events: one per text piece, then a final one with finish_reason and usage. null is false, as in OpenAI's schema.")]
    [JsonConverter(typeof(NullAsFalseConverter))]
    public bool Stream { get; init; }

    /// <summary>
    /// What these fields ask for: the ones left out take the model folder's generation_config.json values, as Hugging
    /// Face does; the seed defaults to 0. <paramref name="maxNewTokens"/> is the route's own (each defaults it its way).
    /// </summary>
    public SamplingOptions ToSampling(GenerationConfig defaults, int maxNewTokens) =>
        defaults.Resolve(Temperature, TopP, TopK, RepetitionPenalty) with
        {
            MaxNewTokens = maxNewTokens, Seed = Seed ?? 0, FrequencyPenalty = FrequencyPenalty ?? 0, PresencePenalty = PresencePenalty ?? 0,
        };
}
