using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace Gmsa.Engine.Model;

/// <summary>
/// Per-layer activation checkpointing: a block keeps only its input from the forward pass, and its backward runs the
/// block again with autograd on and takes gradients through that second run. Activation memory falls from every
/// layer's intermediates to one layer's plus the layers' inputs, for one more forward per step, which is what lets a
/// large backbone's encoder and decoder train on one GPU. The block's dropout masks are drawn again from the same
/// generator state (<see cref="DropoutRandom"/>), so gradients equal those of the plain forward.
/// </summary>
public static class ActivationCheckpoint
{
    static long recomputed;

    /// <summary>Blocks recomputed in backward since the process started (how a test sees that the path was taken).</summary>
    public static long Recomputed => Interlocked.Read(ref recomputed);

    /// <summary>Switches checkpointing on or off in every transformer trunk under <paramref name="root"/>; returns how many.</summary>
    public static int Enable(nn.Module root, bool enabled = true)
    {
        int count = 0;
        foreach (var (_, module) in root.named_modules().Prepend((string.Empty, root)))
            if (module is DecoderModel trunk) { trunk.ActivationCheckpointing = enabled; count++; }
        return count;
    }

    /// <summary>
    /// <paramref name="layer"/>'s output for <paramref name="x"/> [B, T, D], its intermediates recomputed in backward.
    /// The layer's trainable parameters are inputs of the node, so it runs backward even where x needs no gradient
    /// (an encoder's first block reads frozen embeddings).
    /// </summary>
    internal static Tensor Forward(DecoderLayer layer, Tensor x, Tensor cos, Tensor sin, Tensor? mask)
    {
        object?[] vars = [layer, x, cos, sin, mask, .. layer.parameters().Where(p => p.requires_grad)];
        return CheckpointedLayer.apply(vars!);
    }

    sealed class CheckpointedLayer : SingleTensorFunction<CheckpointedLayer>
    {
        public override string Name => nameof(CheckpointedLayer);

        public override Tensor forward(AutogradContext ctx, params object[] vars)
        {
            var (layer, x, cos, sin, mask) = ((DecoderLayer)vars[0], (Tensor)vars[1], (Tensor)vars[2], (Tensor)vars[3], vars[4] as Tensor);
            ctx.save_for_backward([x, cos, sin, mask!]);
            ctx.save_data("layer", layer);
            ctx.save_data("x_requires_grad", x.requires_grad);
            ctx.save_data("inputs", vars.Length);   // backward answers one gradient (or null) per input
            ctx.save_data("rng", DropoutRandom.Snapshot(x.device));
            // The autograd path, as without checkpointing (the no-grad path takes other kernels), its graph dropped at once.
            using var grad = enable_grad();
            using var scope = NewDisposeScope();
            return layer.forward(x.detach(), cos, sin, mask, null).detach().MoveToOuterDisposeScope();
        }

        public override List<Tensor> backward(AutogradContext ctx, Tensor grad_output)
        {
            Interlocked.Increment(ref recomputed);
            using var scope = NewDisposeScope();   // the recomputed activations die here; only x's gradient leaves
            var saved = ctx.get_saved_variables();
            var (x, cos, sin, mask) = (saved[0], saved[1], saved[2], saved[3]);
            var layer = (DecoderLayer)ctx.get_data("layer");
            bool xNeedsGrad = (bool)ctx.get_data("x_requires_grad");

            var now = DropoutRandom.Snapshot(x.device);
            DropoutRandom.Rewind(x.device, (byte[])ctx.get_data("rng"));
            Tensor? inputGrad = null;
            try
            {
                using var grad = enable_grad();
                var input = x.detach().requires_grad_(xNeedsGrad);
                var output = layer.forward(input, cos, sin, mask, null);
                // A nested backward, as PyTorch's reentrant checkpoint does: the layer's parameters accumulate their
                // gradients in place exactly as in the plain backward, so none is handed back through this node.
                output.backward([grad_output]);
                if (xNeedsGrad) inputGrad = input.grad!.MoveToOuterDisposeScope();
            }
            finally
            {
                DropoutRandom.Rewind(x.device, now);
            }
            var grads = new List<Tensor>(new Tensor[(int)ctx.get_data("inputs")]);   // the layer's parameters: null, their gradients are in place
            grads[1] = inputGrad!;
            return grads;
        }
    }
}
