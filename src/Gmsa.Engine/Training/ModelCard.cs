using System.Globalization;
using System.Text;

namespace Gmsa.Engine.Training;

/// <summary>One sample generation shown on the card.</summary>
public sealed record CardSample(string Prompt, string Settings, string Continuation);

/// <summary>
/// The measured facts of an exported model, rendered as its README.md model card: what it is,
/// the data, the recipe and the exact commands, size, perplexities, samples and licences. Every
/// figure comes from the export run; nothing is typed in by hand.
/// </summary>
public sealed record ModelCard
{
    public required string Name { get; init; }
    public required TrainingRecipe Recipe { get; init; }
    public required long Parameters { get; init; }
    public required long WeightBytes { get; init; }
    public required TrainerState FinalState { get; init; }
    public required double ValidationLoss { get; init; }
    public required long ValidationTokens { get; init; }
    public required double TestLoss { get; init; }
    public required long TestTokens { get; init; }
    public required long TrainTokens { get; init; }
    public required IReadOnlyList<string> Commands { get; init; }
    public required IReadOnlyList<CardSample> Samples { get; init; }
    public string? DataCard { get; init; }
    public string LossCurveFile { get; init; } = "loss_curve.png";
    /// <summary>The recipe's path as the card's commands quote it.</summary>
    public string? RecipePath { get; init; }
    /// <summary>Tokens per perplexity window: the model's context, whatever window length the run trained on.</summary>
    public required int PerplexityWindow { get; init; }
    /// <summary>For a continued run (the recipe's init_from): the starting model card's "training" row.</summary>
    public string? BaseTraining { get; init; }

    public string ToMarkdown()
    {
        var c = Recipe.Model;
        var inv = CultureInfo.InvariantCulture;
        var md = new StringBuilder();
        md.AppendLine($"# {Name}");
        md.AppendLine();
        md.AppendLine($"A small LLaMA-architecture language model trained from scratch on a CPU by Gmsa's own pipeline, so that Gmsa runs " +
                      "offline out of the box. It is a base model (no instruction tuning) for English prose, and the default backbone " +
                      "for Gmsa's context-compression experiments: deep and narrow, so that GMSA's encoder (the first layers) is much " +
                      "cheaper than the whole decoder.");
        if (Recipe.InitFrom is not null)
            md.AppendLine(Recipe.RepeatedPassages is null
                ? $"Trained from scratch, then continued from `{Recipe.InitFrom}`."
                : $"Trained from scratch, then continued from `{Recipe.InitFrom}` on windows in which passages repeat " +
                  "(`repeated_passages`), so that it learns to copy from its context: the skill GMSA's reconstruction asks of the decoder.");
        md.AppendLine();
        md.AppendLine("| | |");
        md.AppendLine("|---|---|");
        md.AppendLine($"| architecture | `{c.ModelType}` (LlamaForCausalLM): {c.NumHiddenLayers} layers, hidden {c.HiddenSize}, " +
                      $"{c.NumAttentionHeads} query / {c.NumKeyValueHeads} key-value heads of {c.HeadDim}, SwiGLU {c.IntermediateSize}, " +
                      $"RoPE θ {c.RopeTheta.ToString(inv)}, RMSNorm ε {c.RmsNormEps.ToString(inv)}, tied embeddings: {c.TieWordEmbeddings.ToString().ToLowerInvariant()} |");
        md.AppendLine($"| parameters | {Parameters:N0} |");
        md.AppendLine($"| context | {c.MaxPositionEmbeddings} tokens (trained on {Recipe.SequenceLength}-token windows) |");
        md.AppendLine($"| tokenizer | SentencePiece BPE, {c.VocabSize} pieces, byte fallback (`tokenizer.model`) |");
        md.AppendLine($"| weights | `model.safetensors`, bfloat16, {WeightBytes / 1e6:F1} MB |");
        md.AppendLine($"| training | {TrainingRow()} |");
        md.AppendLine($"| validation perplexity | **{Math.Exp(ValidationLoss):F2}** (loss {ValidationLoss:F4} over {ValidationTokens:N0} tokens) |");
        md.AppendLine($"| test perplexity | **{Math.Exp(TestLoss):F2}** (loss {TestLoss:F4} over {TestTokens:N0} tokens) |");
        md.AppendLine();
        md.AppendLine("Perplexities are per SentencePiece token over every non-overlapping window of the held-out split " +
                      $"({PerplexityWindow} tokens each, documents framed as `<s>` text `</s>`), computed in bfloat16 by `gmsa train export`.");
        md.AppendLine();
        md.AppendLine("## Loss curves");
        md.AppendLine();
        md.AppendLine($"![training and validation loss]({LossCurveFile})");
        md.AppendLine();
        md.AppendLine("## Samples");
        md.AppendLine();
        md.Append(SamplesMarkdown(Samples));
        md.AppendLine("## How it was made");
        md.AppendLine();
        md.AppendLine("From a clone of the Gmsa repository, on Debian 12 with the .NET 10 SDK (npm and apt reach their registries):");
        md.AppendLine();
        md.AppendLine("```bash");
        foreach (var command in Commands) md.AppendLine(command);
        md.AppendLine("```");
        md.AppendLine();
        md.AppendLine($"The recipe (`{RecipePath ?? $"recipes/{Name}.json"}`), as it ran:");
        md.AppendLine();
        md.AppendLine("```json");
        md.AppendLine(Recipe.ToJson());
        md.AppendLine("```");
        md.AppendLine();
        md.AppendLine("AdamW on float32 master weights with bfloat16 compute, linear warm-up then cosine decay, gradient clipping, " +
                      "weight decay on matrices only, GPT-2-style scaled initialisation of the residual projections. Checkpoints are " +
                      "atomic and a resumed run repeats the uninterrupted run's losses exactly.");
        md.AppendLine();
        if (DataCard is not null)
        {
            md.AppendLine("## Training data");
            md.AppendLine();
            md.AppendLine(DemoteHeadings(DataCard.Trim()));
            md.AppendLine();
        }
        md.AppendLine("## Licence and limitations");
        md.AppendLine();
        md.AppendLine("The weights are released under the MIT licence. Every training source is in the public domain or under a " +
                      "licence that permits redistribution (see the data section). The model is tiny and saw a few million tokens: " +
                      "greedy decoding with a repetition penalty gives grammatical English in the styles of its sources (fiction, " +
                      "news, scripture, encyclopaedic prose) that rambles rather than argues, and sampling also coins words. It " +
                      "knows few facts, invents freely and is not fit for any decision. It has not been tuned to follow instructions " +
                      "or to avoid harmful text.");
        if (Recipe.RepeatedPassages is not null)
            md.AppendLine().AppendLine("Trained on repeated passages, it also repeats itself readily: greedy and sampled continuations can fall into " +
                                       "loops (see the samples above), which a repetition penalty of 1.3 does not stop.");
        return md.ToString();
    }

    /// <summary>This run's steps, tokens and time; after the starting model's own row when the run continued one.</summary>
    public string TrainingRow()
    {
        var row = $"{FinalState.Step:N0} steps, {FinalState.TokensSeen / 1e6:F1} M tokens ({(double)FinalState.TokensSeen / TrainTokens:F1} epochs of " +
                  $"{TrainTokens / 1e6:F2} M), {FinalState.ElapsedSeconds / 3600:F1} h on 2 CPU cores";
        if (Recipe.InitFrom is null) return row;
        var repeated = Recipe.RepeatedPassages is { } r ? $", {r.Fraction * 100:F0} % of windows rewritten as repeated passages of {r.MinTokens}-{r.MaxTokens} tokens" : "";
        return $"from scratch: {BaseTraining ?? "see the starting model's card"}; then continued: {row}{repeated}";
    }

    /// <summary>Pushes the data card's headings one level down so they nest under this card's sections.</summary>
    static string DemoteHeadings(string markdown) => string.Join('\n', markdown.Split('\n')
        .Select(line => line.StartsWith('#') ? "##" + line : line));

    /// <summary>Each sample as "**prompt** (settings)" and the quoted text, the layout the golden tests read back.</summary>
    public static string SamplesMarkdown(IEnumerable<CardSample> samples)
    {
        var md = new System.Text.StringBuilder();
        foreach (var s in samples)
        {
            md.AppendLine($"**{s.Prompt}** ({s.Settings})");
            md.AppendLine();
            md.AppendLine("> " + (s.Prompt + s.Continuation).Trim().ReplaceLineEndings("\n> "));
            md.AppendLine();
        }
        return md.ToString();
    }
}
