using Gmsa.Engine.Model;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Gmsa.Engine.Training;

// Legend: B micro-batch, T window length, V vocab.

/// <summary>
/// Next-token prediction over windows of a token stream: the pretraining objective of a causal LM.
/// Logits are cast to float32 before the softmax, so bf16 training gets a float32 loss.
/// </summary>
public sealed class LanguageModelObjective : ITrainingObjective
{
    readonly CausalLM model;
    readonly TokenWindows train;
    readonly TokenStream validation;
    readonly int microBatch;

    public LanguageModelObjective(CausalLM model, TokenStream train, TokenStream validation, int sequenceLength, int microBatch, long seed,
        RepeatedPassages? repeated = null)
    {
        if (train.VocabSize > model.Config.VocabSize)
            throw new ArgumentException($"the data's vocab ({train.VocabSize}) is larger than the model's ({model.Config.VocabSize})");
        if (sequenceLength > model.Config.MaxPositionEmbeddings)
            throw new ArgumentException($"sequence length {sequenceLength} exceeds the model's max_position_embeddings {model.Config.MaxPositionEmbeddings}");
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(microBatch);
        this.model = model;
        this.train = new TokenWindows(train, sequenceLength, seed, repeated);
        this.validation = validation;
        this.microBatch = microBatch;
        Trainable = model.named_parameters().Select(p => (p.name, p.parameter)).ToArray();
    }

    public IReadOnlyList<(string Name, Parameter Parameter)> Trainable { get; }
    public DataPosition Position => train.Position;
    public int SequenceLength => train.Length;
    public void Seek(DataPosition position) => train.Seek(position);
    public void SetTraining(bool training) => model.train(training);

    public (Tensor Loss, long Tokens) NextLoss()
    {
        using var scope = NewDisposeScope();
        var batch = train.NextBatch(microBatch);                                      // [B, T+1]
        var loss = Loss(batch);
        return (loss.MoveToOuterDisposeScope(), batch.shape[0] * (batch.shape[1] - 1));
    }

    /// <summary>Mean next-token cross-entropy of windows [B, T+1]: inputs are the first T ids, targets the last T.</summary>
    public Tensor Loss(Tensor windows) => NextTokenLoss(model, windows, nn.Reduction.Mean);

    public double ValidationLoss(int? maxWindows) => MeanLoss(model, validation, SequenceLength, microBatch, maxWindows);

    /// <summary>Mean loss per token over a stream's evaluation windows; exp of it is the perplexity.</summary>
    public static double MeanLoss(CausalLM model, TokenStream stream, int sequenceLength, int batchSize, int? maxWindows = null)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var windows = TokenWindows.EvaluationWindows(stream, sequenceLength, maxWindows);  // [n, T+1]
        long n = windows.shape[0];
        double sum = 0;
        for (long start = 0; start < n; start += batchSize)
        {
            using var step = NewDisposeScope();
            var batch = windows.narrow(0, start, Math.Min(batchSize, n - start));
            sum += NextTokenLoss(model, batch, nn.Reduction.Sum).item<float>();
        }
        return sum / (n * sequenceLength);
    }

    /// <summary>Next-token cross-entropy of windows [B, T+1] (inputs the first T ids, targets the last T): a scalar, or [B*T] with Reduction.None.</summary>
    internal static Tensor NextTokenLoss(CausalLM model, Tensor windows, nn.Reduction reduction)
    {
        using var scope = NewDisposeScope();
        long t = windows.shape[1] - 1;
        var inputs = windows.narrow(1, 0, t).to(model.Device);                        // [B, T]
        var targets = windows.narrow(1, 1, t).to(model.Device);                       // [B, T]
        using var output = model.forward(inputs);
        var logits = output.Logits.to(ScalarType.Float32);                            // [B, T, V]
        var loss = nn.functional.cross_entropy(logits.view(-1, logits.shape[2]), targets.reshape(-1), reduction: reduction);
        return loss.MoveToOuterDisposeScope();
    }
}
