using System.CommandLine;
using Gmsa.Engine.Corpus;
using Gmsa.Engine.Evaluation;
using Gmsa.Engine.Generation;
using Gmsa.Engine.Training;

namespace Gmsa.Cli.Commands;

/// <summary>`gmsa perplexity`: a model folder's loss on a token file, and how much it copies from its context.</summary>
internal static class PerplexityCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "model folder", DefaultValueFactory = _ => "models/gmsa-tiny" };
        var file = new Option<string>("--tokens") { Description = "token file (gmsa data encode)", DefaultValueFactory = _ => "data/tokens/validation.bin" };
        var length = new Option<int?>("--length") { Description = "window length in tokens (default: the model's context)" };
        var windows = new Option<int?>("--windows") { Description = "at most this many windows, evenly strided (default: every window)" };
        var passage = new Option<int>("--passage") { Description = "copy test: passages of this many tokens, each read twice", DefaultValueFactory = _ => 128 };
        var passages = new Option<int>("--passages") { Description = "copy test: this many passages, evenly strided", DefaultValueFactory = _ => 64 };
        var device = new DeviceOptions();
        var command = new Command("perplexity", "Loss and perplexity on a token file, and the loss on passages read a second time (copying)")
        {
            model, file, length, windows, passage, passages,
        };
        device.AddTo(command);
        command.SetAction(parse => CommandGuard.Run(() =>
        {
            CorpusEncoder.RequireEncodedBy(parse.GetValue(file)!, parse.GetValue(model)!);
            using var lm = LanguageModel.Load(parse.GetValue(model)!, device.ParseDevice(parse), device.ParseDtype(parse));
            var stream = TokenFile.Read(parse.GetValue(file)!, lm.Tokenizer.VocabSize);
            int window = parse.GetValue(length) ?? lm.Model.Config.ContextLength;
            if (window < 2 || window > lm.Model.Config.ContextLength)
                throw new ArgumentException($"--length must lie in 2..{lm.Model.Config.ContextLength} (the model's context), got {window}");
            if (parse.GetValue(windows) is < 1 || parse.GetValue(passages) < 1) throw new ArgumentException("--windows and --passages must be at least 1");
            double loss = lm.Runner.Run(() => LanguageModelObjective.MeanLoss(lm.Model, stream, window, batchSize: 8, parse.GetValue(windows)));
            Console.WriteLine($"loss {loss:F4}, perplexity {Math.Exp(loss):F2} ({parse.GetValue(file)}, windows of {window} tokens)");
            var copy = lm.Runner.Run(() => CopyLoss.Measure(lm.Model, stream, parse.GetValue(passage), maxPassages: parse.GetValue(passages)));
            Console.WriteLine($"copy test: {copy.Passages} passages of {copy.PassageTokens} tokens read twice: loss {copy.FirstReading:F4} " +
                $"on the first reading, {copy.Repeat:F4} on the repeat");
            return 0;
        }));
        return command;
    }
}
