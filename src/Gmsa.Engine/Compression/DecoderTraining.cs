using System.Text.Json.Serialization;
using Gmsa.Engine.Model;
using TorchSharp.Modules;

namespace Gmsa.Engine.Compression;

/// <summary>Which parts of the decoder learn.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<DecoderTraining>))]
public enum DecoderTraining
{
    /// <summary>Nothing (stage 1 as the paper trains it).</summary>
    [JsonStringEnumMemberName("frozen")] Frozen,
    /// <summary>Small adapters on every projection over an unchanged base, so the base still serves plain completions.</summary>
    [JsonStringEnumMemberName("lora")] Lora,
    /// <summary>The q, k and v projections of every block (the paper's v1 fine-tuning).</summary>
    [JsonStringEnumMemberName("qkv")] Qkv,
    /// <summary>The whole decoder (the reference code's fine-tuning).</summary>
    [JsonStringEnumMemberName("full")] Full,
}

public static class DecoderParts
{
    /// <summary>
    /// Freezes the decoder except the chosen part (requires_grad false everywhere else, so no gradient is computed
    /// or kept for it) and returns the trainable parameters by name. Adapters must already be on for Lora.
    /// </summary>
    public static IReadOnlyList<(string Name, Parameter Parameter)> Select(CausalLM decoder, DecoderTraining mode)
    {
        var chosen = new List<(string, Parameter)>();
        foreach (var (name, p) in decoder.named_parameters())
        {
            bool train = mode switch
            {
                DecoderTraining.Lora => Lora.IsAdapterKey(name),
                DecoderTraining.Qkv => !Lora.IsAdapterKey(name) && (name.Contains(".q_proj.") || name.Contains(".k_proj.") || name.Contains(".v_proj.")),
                DecoderTraining.Full => !Lora.IsAdapterKey(name),
                _ => false,
            };
            p.requires_grad = train;
            if (train) chosen.Add((name, p));
        }
        if (mode == DecoderTraining.Lora && chosen.Count == 0)
            throw new InvalidOperationException("decoder training 'lora' needs adapters on the decoder (decoder_lora_rank > 0)");
        return chosen;
    }
}
