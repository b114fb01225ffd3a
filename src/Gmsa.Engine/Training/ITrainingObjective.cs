using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Gmsa.Engine.Training;

/// <summary>
/// One kind of training for <see cref="Trainer"/>: which parameters learn, the loss of the next
/// micro-batch, and the validation loss. Language-model pretraining is one; GMSA's autoencoder
/// and fine-tuning stages are others, over the same loop, optimizer and checkpoints.
/// </summary>
public interface ITrainingObjective
{
    /// <summary>The parameters to train, named as checkpoints name them.</summary>
    IReadOnlyList<(string Name, Parameter Parameter)> Trainable { get; }

    /// <summary>Forward pass and mean loss per target token of the next micro-batch, with its target-token count.</summary>
    (Tensor Loss, long Tokens) NextLoss();

    /// <summary>Mean loss per target token over the validation data (at most <paramref name="maxWindows"/> sequences).</summary>
    double ValidationLoss(int? maxWindows);

    /// <summary>Where the training data stands, saved in checkpoints so a resumed run sees the same batches.</summary>
    DataPosition Position { get; }

    void Seek(DataPosition position);

    /// <summary>Switches dropout and similar layers between training and evaluation behaviour.</summary>
    void SetTraining(bool training);
}
