using System.CommandLine;
using Gmsa.Engine.Checkpoints;
using Gmsa.Engine.Model;
using Gmsa.Engine.Text;

namespace Gmsa.Cli.Commands;

/// <summary>`gmsa inspect DIR`: what a model folder holds, read from headers without loading the weights.</summary>
internal static class InspectCommand
{
    public static Command Create()
    {
        var directory = new Argument<string>("dir") { Description = "Hugging Face model folder" };
        var command = new Command("inspect", "Show a model folder's config, parameter count, dtypes and tokenizer") { directory };
        command.SetAction(parse => CommandGuard.Run(() =>
        {
            var dir = parse.GetValue(directory)!;
            var config = ModelConfig.Load(Path.Combine(dir, "config.json"));
            var tensors = ShardedCheckpoint.ReadHeaders(dir);
            long parameters = tensors.Values.Sum(t => t.Shape.Aggregate(1L, (a, b) => a * b));
            var dtypes = tensors.Values.GroupBy(t => t.Dtype).Select(g => $"{g.Key} x{g.Count()}");
            var tokenizer = TextTokenizer.Load(dir);
            var generation = GenerationConfig.Load(dir, config);

            Row("model_type", config.ModelType);
            Row("layers", config.NumHiddenLayers);
            Row("hidden / intermediate", $"{config.HiddenSize} / {config.IntermediateSize}");
            Row("heads (q / kv) x head_dim", $"{config.NumAttentionHeads} / {config.NumKeyValueHeads} x {config.HeadDim}");
            Row("vocab", config.VocabSize);
            Row("context", config.SlidingWindow is { } w ? $"{config.MaxPositionEmbeddings} (sliding window {w}: exact up to {config.ContextLength})" : config.MaxPositionEmbeddings);
            Row("rope", $"theta {config.RopeTheta}{(config.RopeScaling is { } s ? $", {s.RopeType} x{s.Factor}" : "")}");
            Row("tied embeddings", config.TieWordEmbeddings);
            Row("q/k/v bias, q/k norm", $"{config.AttentionBias}, {config.QkNorm}");
            Row("parameters", $"{parameters:N0} ({parameters / 1e6:F2} M)");
            Row("tensors", $"{tensors.Count} ({string.Join(", ", dtypes)})");
            Row("tokenizer", $"{tokenizer.Kind}, {tokenizer.VocabSize} tokens, bos {tokenizer.BosId?.ToString() ?? "-"}, eos {tokenizer.EosId?.ToString() ?? "-"}, pad {tokenizer.PadId?.ToString() ?? "-"}");
            Row("eos ids (generation)", string.Join(", ", generation.EosTokenIds));
            return 0;
        }));
        return command;
    }

    static void Row(string name, object value) => Console.WriteLine($"{name,-26} {value}");
}
