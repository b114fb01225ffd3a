using Gmsa.Engine.Model;
using Gmsa.Engine.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Gmsa.Engine.Tests.Training;

/// <summary>The training loop on a tiny model over a patterned stream: learning, exact resume, atomic checkpoints, no leaks.</summary>
public sealed class TrainerTests
{
    const int Sequence = 16, MicroBatch = 4;

    // A stream with structure to learn: documents of an arithmetic pattern framed by BOS/EOS.
    static TokenStream PatternStream(int documents, int seed)
    {
        var rng = new Random(seed);
        var ids = new List<ushort>();
        for (int d = 0; d < documents; d++)
        {
            ids.Add(1);
            int start = rng.Next(3, 60), step = rng.Next(1, 4);
            for (int i = 0; i < 24; i++) ids.Add((ushort)(3 + (start + i * step) % 90));
            ids.Add(2);
        }
        return new TokenStream(ids.ToArray(), 97);
    }

    static readonly TokenStream Train = PatternStream(200, seed: 1), Validation = PatternStream(20, seed: 2);

    static TrainingOptions Options(int steps) => new()
    {
        Steps = steps, GradientAccumulation = 2, LearningRate = 3e-3, MinLearningRate = 3e-4, WarmupSteps = 2,
        EvalEvery = 4, EvalWindows = 8, CheckpointEvery = 2, KeepCheckpoints = 2, LogEvery = 1,
    };

    static (CausalLM Model, LanguageModelObjective Objective) Setup(ScalarType dtype = ScalarType.BFloat16)
    {
        var model = new CausalLM(TinyModels.Llama() with { MaxPositionEmbeddings = 64 }, dtype);
        model.InitializeWeights(seed: 5, scaleResidualProjections: true);
        return (model, new LanguageModelObjective(model, Train, Validation, Sequence, MicroBatch, seed: 9));
    }

    static Dictionary<string, float[]> Weights(CausalLM model) =>
        model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.to(ScalarType.Float32).data<float>().ToArray());

    [Fact]
    public void Run_PatternedStream_LearnsIt()
    {
        using var run = new TempDir();
        var (model, objective) = Setup();
        using var _ = model;
        double before = objective.ValidationLoss(null);
        var result = new Trainer(objective, Options(100) with { LearningRate = 1e-2, EvalEvery = 100, CheckpointEvery = 100 }, run.Path).Run(resume: false);
        Assert.True(result.Completed);
        Assert.True(result.ValidationLoss < before * 0.6, $"validation loss {before:F3} -> {result.ValidationLoss:F3}");
    }

    [Fact]
    public void Run_ResumedAfterCrash_RepeatsTheUninterruptedLossesExactly()
    {
        using var whole = new TempDir();
        var (model, objective) = Setup();
        using (model)
        {
            var uninterrupted = new Trainer(objective, Options(6), whole.Path).Run(resume: false);
            var expectedWeights = Weights(model);

            using var crashed = new TempDir();
            var (model2, objective2) = Setup();
            using (model2)
            {
                // Crash after step 5: the last checkpoint holds step 4, so steps 4 and 5 are redone.
                var crash = Assert.Throws<InvalidOperationException>(() => new Trainer(objective2, Options(6), crashed.Path)
                    .Run(resume: false, p => { if (p.Step == 5) throw new InvalidOperationException("simulated crash"); }));
                Assert.Equal("simulated crash", crash.Message);
            }
            var (model3, objective3) = Setup(); // a fresh process: different random state until the checkpoint loads
            using (model3)
            {
                var resumed = new Trainer(objective3, Options(6), crashed.Path).Run(resume: true);
                Assert.True(resumed.Completed);
                Assert.Equal(uninterrupted.StepLosses.Skip(4), resumed.StepLosses);   // bit-for-bit
                Assert.Equal(uninterrupted.ValidationLoss, resumed.ValidationLoss);
                var actual = Weights(model3);
                foreach (var (name, values) in expectedWeights) Assert.Equal(values, actual[name]);
            }
            // The curve of the resumed run has each step once and the same losses.
            var rows = MetricsLog.ReadRows(Path.Combine(crashed.Path, "metrics.csv"));
            Assert.Equal(Enumerable.Range(0, 6), rows.Select(r => r.Step));
            Assert.Equal(uninterrupted.StepLosses, rows.Select(r => r.TrainLoss));
        }
    }

    [Fact]
    public void Save_CrashWhileWritingCheckpoint_LatestStaysThePreviousCompleteOne()
    {
        using var run = new TempDir();
        var (model, objective) = Setup();
        using var _ = model;
        int writes = 0;
        // The hook is process-wide and other test classes train in parallel: react to this run's files only.
        TrainingCheckpoint.AfterFileWritten = file =>
        {
            if (!file.StartsWith(run.Path + Path.DirectorySeparatorChar)) return;
            if (Path.GetFileName(file) == TrainingCheckpoint.OptimizerFile && Interlocked.Increment(ref writes) == 2) throw new IOException("disk pulled");
        };
        try
        {
            Assert.Throws<IOException>(() => new Trainer(objective, Options(6), run.Path).Run(resume: false));
        }
        finally
        {
            TrainingCheckpoint.AfterFileWritten = null;
        }
        var checkpoints = Path.Combine(run.Path, "checkpoints");
        var latest = TrainingCheckpoint.Latest(checkpoints);
        Assert.EndsWith("step-0000002", latest);
        Assert.Equal(2, TrainingCheckpoint.ReadState(latest!).Step);
        Assert.False(Directory.Exists(Path.Combine(checkpoints, "step-0000004")));

        // The half-written folder is ignored on resume and cleaned up by the next save.
        var (model2, objective2) = Setup();
        using (model2)
            Assert.True(new Trainer(objective2, Options(6), run.Path).Run(resume: true).Completed);
        Assert.Empty(Directory.GetDirectories(checkpoints, ".tmp-*"));
        Assert.EndsWith("step-0000006", TrainingCheckpoint.Latest(checkpoints));
    }

    [Fact]
    public void Run_Cancelled_SavesACheckpointAndResumesToTheEnd()
    {
        using var run = new TempDir();
        using var stop = new CancellationTokenSource();
        var (model, objective) = Setup(ScalarType.Float32);
        using (model)
        {
            var first = new Trainer(objective, Options(7), run.Path).Run(resume: false, p => { if (p.Step == 3) stop.Cancel(); }, stop.Token);
            Assert.False(first.Completed);
            Assert.Equal(3, first.Step);
        }
        Assert.Equal(3, TrainingCheckpoint.ReadState(TrainingCheckpoint.Latest(Path.Combine(run.Path, "checkpoints"))!).Step);
        var (model2, objective2) = Setup(ScalarType.Float32);
        using (model2)
        {
            var second = new Trainer(objective2, Options(7), run.Path).Run(resume: true);
            Assert.True(second.Completed);
            Assert.Equal(4, second.StepLosses.Count);
        }
    }

    [Fact]
    public void Run_NewRunInAFolderWithCheckpoints_RefusesToOverwrite()
    {
        using var run = new TempDir();
        var (model, objective) = Setup();
        using var _ = model;
        new Trainer(objective, Options(2), run.Path).Run(resume: false);
        var e = Assert.Throws<InvalidOperationException>(() => new Trainer(objective, Options(2), run.Path).Run(resume: false));
        Assert.Contains("already holds checkpoints", e.Message);
    }

    [Fact]
    public void Run_TwentySteps_LeavesNoLiveTensorsBehind()
    {
        using var run = new TempDir();
        var (model, objective) = Setup();
        using var _ = model;
        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        new Trainer(objective, Options(20) with { CheckpointEvery = 10 }, run.Path).Run(resume: false);
        Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    [Fact]
    public void MasterWeights_Bf16Model_AccumulatesInFloat32AndPushesBack()
    {
        using var model = new CausalLM(TinyModels.Llama(), ScalarType.BFloat16);
        model.InitializeWeights(seed: 1);
        using var weights = new MasterWeights(model.named_parameters().Select(p => (p.name, p.parameter)));
        Assert.True(weights.IsMixed);
        var (name, master) = weights.Named.First(w => w.Name.EndsWith("q_proj.weight"));
        var working = model.named_parameters().First(p => p.name == name).parameter;
        using var scope = NewDisposeScope();
        working.grad = full_like(working, 1e-3);   // two micro-batches of a tiny gradient
        weights.AccumulateGradients();
        Assert.Null(working.grad);
        working.grad = full_like(working, 1e-3);
        weights.AccumulateGradients();
        Assert.Equal(ScalarType.Float32, master.grad!.dtype);
        Assert.Equal(2e-3, master.grad!.mean().item<float>(), 5);

        using (no_grad()) master.add_(1e-4);         // an update bf16 alone could not represent on 0.02-sized weights
        weights.PushToModel();
        TensorAssert.Identical(master.to(ScalarType.BFloat16), working);
        Assert.Null(master.grad);
    }
}
