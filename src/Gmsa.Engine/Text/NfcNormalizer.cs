using System.Text;
using Microsoft.ML.Tokenizers;

namespace Gmsa.Engine.Text;

/// <summary>Unicode NFC normalization, as tokenizer.json's <c>{"type": "NFC"}</c> normalizer (Qwen2) asks.</summary>
internal sealed class NfcNormalizer : Normalizer
{
    public static readonly NfcNormalizer Instance = new();

    public override string Normalize(string original) => original.Normalize(NormalizationForm.FormC);

    public override string Normalize(ReadOnlySpan<char> original) => original.ToString().Normalize(NormalizationForm.FormC);
}
