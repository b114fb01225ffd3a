using Gmsa.Engine.Generation;
using TorchSharp;
using static TorchSharp.torch;

namespace Gmsa.Engine.Tests.Generation;

/// <summary>Dispose discipline is correctness: repeated work must not grow the number of live tensors.</summary>
public sealed class TensorLeakTests
{
    [Fact]
    public void ForwardAndGenerate_HundredCallsOnModelThread_LiveTensorCountStaysFlat()
    {
        using var runner = new ModelRunner("leak-test");
        var (before, after) = runner.Run(() =>
        {
            using var model = TinyModels.Create(TinyModels.Llama());
            var ids = TinyModels.Ids([1, 5, 17, 42, 8]);
            void Work(int i)
            {
                using (var scope = NewDisposeScope())
                using (no_grad())
                    model.forward(ids, returnHiddenStates: true);
                TokenGenerator.Generate(model, [[1, 5, 17], [1, 2]],
                    new SamplingOptions { MaxNewTokens = 4, Temperature = i % 2 == 0 ? 0 : 0.8, TopP = 0.9, RepetitionPenalty = 1.3 }, 0);
            }
            Work(0); // first call may allocate lazily initialised state
            long start = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
            for (int i = 0; i < 100; i++) Work(i);
            return (start, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
        });
        Assert.Equal(before, after);
    }
}
