using Gmsa.Engine.Model;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Gmsa.Engine.Training;

/// <summary>
/// TorchSharp's AdamW step with one change: every number it hands to libtorch is a Scalar held until the update is
/// done. TorchSharp's own step writes them as plain doubles (<c>mul_(beta1)</c>, <c>add_(grad, alpha: 1 - beta1)</c>,
/// ...), eight temporaries per parameter and step, each free to be finalized while its native call still reads it
/// (see <see cref="Scalars"/>): a training run of hours could die at random. The update is TorchSharp's op for op, so
/// its results are the same bits; it works on TorchSharp's <see cref="AdamW"/> object and its moments, so the
/// optimizer, its groups and its <c>optimizer.bin</c> stay TorchSharp's (a subclass would be saved under another type
/// name, which TorchSharp's loader refuses).
/// </summary>
public static class HeldScalarAdamW
{
    public static void Step(AdamW optimizer)
    {
        // state_dict() lists each parameter's moments in group and parameter order, as load_state_dict reads them.
        var moments = optimizer.state_dict().State;
        int index = 0;
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        foreach (ParamGroup group in optimizer.ParamGroups)
        {
            var options = (AdamW.Options)group.Options;
            if (options.amsgrad == true || options.maximize == true)
                throw new NotSupportedException("HeldScalarAdamW implements AdamW without amsgrad and maximize");
            double lr = options.LearningRate!.Value, beta1 = options.beta1!.Value, beta2 = options.beta2!.Value;
            using var decay = (1 - lr * options.weight_decay!.Value).ToScalar();
            using var beta1Scalar = beta1.ToScalar();
            using var oneMinusBeta1 = (1 - beta1).ToScalar();
            using var beta2Scalar = beta2.ToScalar();
            using var oneMinusBeta2 = (1 - beta2).ToScalar();
            using var eps = options.eps!.Value.ToScalar();
            foreach (var param in group.Parameters)
            {
                var state = (AdamW.State)moments[index++];
                var grad = param.grad;
                if (grad is null) continue;
                state.step += 1;

                // p = p (1 - lr wd); m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2
                param.mul_(decay);
                state.exp_avg.mul_(beta1Scalar).add_(grad, oneMinusBeta1);
                state.exp_avg_sq.mul_(beta2Scalar).addcmul_(grad, grad, oneMinusBeta2);

                // p = p - lr / (1 - b1^t) m / (sqrt(v) / sqrt(1 - b2^t) + eps)
                double biasCorrection1 = 1 - Math.Pow(beta1, state.step), biasCorrection2 = 1 - Math.Pow(beta2, state.step);
                using var sqrtCorrection2 = Math.Sqrt(biasCorrection2).ToScalar();
                using var stepSize = (-(lr / biasCorrection1)).ToScalar();
                var denom = state.exp_avg_sq.sqrt().div(sqrtCorrection2).add_(eps);
                param.addcdiv_(state.exp_avg, denom, stepSize);
            }
        }
    }
}
