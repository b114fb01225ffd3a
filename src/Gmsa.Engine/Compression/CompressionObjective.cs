using Gmsa.Engine.Model;
using Gmsa.Engine.Training;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Gmsa.Engine.Compression;

/// <summary>
/// Both GMSA training stages as one objective: compress each example's context, let the decoder read
/// [soft ; prompt ; target], and take the cross-entropy over the target tokens only. Stage 1 (autoencoder)
/// trains the compressor; stage 2 (fine-tuning) freezes it, so its soft tokens are computed without autograd,
/// and trains the decoder part chosen by <see cref="DecoderTraining"/>.
/// </summary>
public sealed class CompressionObjective : ITrainingObjective
{
    readonly ContextCompressor compressor;
    readonly CausalLM decoder;
    readonly ExampleOrder train;
    readonly IExampleSet validation;
    readonly IReadOnlyList<int> rates;
    readonly int microBatch;
    readonly bool trainCompressor;

    public CompressionObjective(ContextCompressor compressor, CausalLM decoder, IExampleSet train, IExampleSet validation,
        bool trainCompressor, DecoderTraining decoderTraining, int microBatch, long seed)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(microBatch);
        if (validation.Count == 0) throw new ArgumentException("no validation examples");
        this.compressor = compressor;
        this.decoder = decoder;
        rates = compressor.Config.Rates;
        this.train = new ExampleOrder(train, rates, seed);
        this.validation = validation;
        this.microBatch = microBatch;
        this.trainCompressor = trainCompressor;
        var decoderParts = DecoderParts.Select(decoder, decoderTraining);
        var compressorParts = compressor.TrainableParameters();
        if (!trainCompressor)
            foreach (var (_, p) in compressor.named_parameters()) p.requires_grad = false;
        Trainable = (trainCompressor ? compressorParts.Select(p => ("compressor." + p.Name, p.Parameter)) : [])
            .Concat(decoderParts.Select(p => ("decoder." + p.Name, p.Parameter)))
            .ToArray();
        if (Trainable.Count == 0) throw new ArgumentException("nothing to train: the compressor is frozen and the decoder too");
    }

    public IReadOnlyList<(string Name, Parameter Parameter)> Trainable { get; }
    public DataPosition Position => train.Position;
    public void Seek(DataPosition position) => train.Seek(position);

    public void SetTraining(bool training)
    {
        compressor.train(training && trainCompressor);
        decoder.train(training);
    }

    public (Tensor Loss, long Tokens) NextLoss()
    {
        using var scope = NewDisposeScope();
        var (sum, tokens) = LossSum(train.Next(microBatch), withGrad: true);
        return ((sum / tokens).MoveToOuterDisposeScope(), tokens);
    }

    public double ValidationLoss(int? maxExamples)
    {
        using var noGrad = no_grad();
        int n = Math.Min(validation.Count, maxExamples ?? validation.Count);
        double sum = 0;
        long tokens = 0;
        for (int start = 0; start < n; start += microBatch)
        {
            using var scope = NewDisposeScope();
            // Evaluation rates cycle through the list, so every rate is measured on a fixed set.
            var batch = Enumerable.Range(start, Math.Min(microBatch, n - start)).Select(i => (validation[i], rates[i % rates.Count])).ToList();
            var (batchSum, batchTokens) = LossSum(batch, withGrad: false);
            sum += batchSum.item<float>();
            tokens += batchTokens;
        }
        return sum / tokens;
    }

    /// <summary>Summed target cross-entropy of a batch and its target-token count.</summary>
    public (Tensor Sum, long Tokens) LossSum(IReadOnlyList<(CompressionExample Example, int Rate)> batch, bool withGrad)
    {
        using var scope = NewDisposeScope();
        IReadOnlyList<Tensor> soft;
        if (trainCompressor)
        {
            using var grad = enable_grad(withGrad);
            var (merged, counts) = CompressBatch(batch);
            soft = counts.Select((n, b) => merged[b].narrow(0, 0, n)).ToArray();
        }
        else // frozen compressor: soft tokens are constants, and contexts of any length go through in segments
            soft = SegmentedCompression.Compress(compressor, batch.Select(e => e.Example.Context).ToArray(), batch.Select(e => e.Rate).ToArray());
        if (compressor.Config.Method == CompressionMethod.None) // the full-context reference reads the head of the text that fits
            soft = soft.Select((s, b) => FittingHead(s, batch[b].Example)).ToArray();
        var rows = batch.Select((e, b) => new SoftPromptRow(soft[b], e.Example.Prompt, e.Example.Target)).ToList();
        using var packed = SoftPromptBatch.Pack(decoder, rows, padLeft: false);
        var sum = SoftPromptBatch.TargetLossSum(decoder, packed);
        return (sum.MoveToOuterDisposeScope(), packed.TargetTokens);
    }

    /// <summary>The first embeddings of <paramref name="text"/> that fit the decoder's window beside the prompt and target.</summary>
    Tensor FittingHead(Tensor text, CompressionExample example)
    {
        long room = decoder.Config.ContextLength - example.Prompt.Count - example.Target.Count;
        return text.shape[0] <= room ? text : text.narrow(0, 0, Math.Max(0, room));
    }

    (Tensor Soft, int[] Counts) CompressBatch(IReadOnlyList<(CompressionExample Example, int Rate)> batch)
    {
        int width = batch.Max(e => e.Example.Context.Count);
        if (width > compressor.Config.SegmentLength)
            throw new ArgumentException($"training contexts must fit one segment ({compressor.Config.SegmentLength} tokens), got {width}");
        var ids = new long[batch.Count * width];
        for (int b = 0; b < batch.Count; b++)
            for (int t = 0; t < batch[b].Example.Context.Count; t++) ids[b * width + t] = batch[b].Example.Context[t];
        return compressor.Compress(tensor(ids, [batch.Count, width], device: decoder.Device),
            batch.Select(e => e.Example.Context.Count).ToArray(), batch.Select(e => e.Rate).ToArray());
    }
}
