using Gmsa.Engine.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Gmsa.Engine.Tests.Training;

/// <summary>The held-Scalar AdamW step against TorchSharp's own: the same bits, and the same moments file.</summary>
public sealed class HeldScalarAdamWTests
{
    // A matrix with weight decay and a vector without, as the trainer groups them.
    static (Parameter Matrix, Parameter Vector) Parameters()
    {
        var generator = new Generator(11);
        return (new Parameter(randn(7, 5, generator: generator)), new Parameter(randn(5, generator: generator)));
    }

    static List<AdamW.ParamGroup> Groups((Parameter Matrix, Parameter Vector) p) =>
    [
        new([p.Matrix], lr: 1e-2, beta1: 0.9, beta2: 0.95, eps: 1e-8, weight_decay: 0.1),
        new([p.Vector], lr: 1e-2, beta1: 0.9, beta2: 0.95, eps: 1e-8, weight_decay: 0),
    ];

    // Gradients drawn from the step number, so both optimizers see the same ones; the learning rate changes each
    // step as the trainer's schedule does.
    static void Step(AdamW optimizer, (Parameter Matrix, Parameter Vector) p, int step, bool held)
    {
        var generator = new Generator((ulong)(100 + step));
        p.Matrix.grad = randn(7, 5, generator: generator);
        p.Vector.grad = randn(5, generator: generator);
        foreach (var group in optimizer.ParamGroups) group.LearningRate = 1e-2 / (step + 1);
        if (held) HeldScalarAdamW.Step(optimizer);
        else optimizer.step();
    }

    static byte[] Moments(AdamW optimizer)
    {
        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true))
            optimizer.save_state_dict(writer);
        return stream.ToArray();
    }

    [Fact]
    public void Step_SameGradientsAndSchedule_EqualsTorchSharpStepBitForBit()
    {
        var ours = Parameters();
        var theirs = Parameters();
        using var held = optim.AdamW(Groups(ours));
        using var reference = optim.AdamW(Groups(theirs));

        for (int step = 0; step < 6; step++)
        {
            Step(held, ours, step, held: true);
            Step(reference, theirs, step, held: false);
        }

        Assert.False(ours.Matrix.bytes.SequenceEqual(Parameters().Matrix.bytes)); // it trained
        Assert.True(ours.Matrix.bytes.SequenceEqual(theirs.Matrix.bytes));
        Assert.True(ours.Vector.bytes.SequenceEqual(theirs.Vector.bytes));
        Assert.Equal(Moments(reference), Moments(held)); // moments, step counts and learning rates
    }

    [Fact]
    public void Step_AfterTorchSharpStepsAndReload_ContinuesAsTorchSharp()
    {
        var theirs = Parameters();
        using var reference = optim.AdamW(Groups(theirs));
        for (int step = 0; step < 3; step++) Step(reference, theirs, step, held: false);

        // A run checkpointed before the held step existed resumes under it.
        var ours = (Matrix: new Parameter(theirs.Matrix.detach().clone()), Vector: new Parameter(theirs.Vector.detach().clone()));
        using var held = optim.AdamW(Groups(ours));
        using (var reader = new BinaryReader(new MemoryStream(Moments(reference))))
            held.load_state_dict(reader);
        for (int step = 3; step < 5; step++)
        {
            Step(held, ours, step, held: true);
            Step(reference, theirs, step, held: false);
        }

        Assert.True(ours.Matrix.bytes.SequenceEqual(theirs.Matrix.bytes));
        Assert.True(ours.Vector.bytes.SequenceEqual(theirs.Vector.bytes));
        Assert.Equal(Moments(reference), Moments(held));
    }

    [Fact]
    public void Step_AmsGradGroup_ThrowsNotSupported()
    {
        var p = Parameters();
        using var optimizer = optim.AdamW([new AdamW.ParamGroup([p.Matrix, p.Vector], lr: 1e-2, amsgrad: true)]);
        p.Matrix.grad = ones(7, 5);
        p.Vector.grad = ones(5);

        Assert.Throws<NotSupportedException>(() => HeldScalarAdamW.Step(optimizer));
    }
}
