using System.CommandLine;
using Gmsa.Engine.Compression;

namespace Gmsa.Cli.Commands;

/// <summary>`gmsa answer`: a question over a context, compressed now (--text/--file) or earlier (--soft).</summary>
internal static class AnswerCommand
{
    public static Command Create()
    {
        var options = new CompressorOptions();
        var question = new Option<string>("--question") { Description = "what to ask (the decoder reads it after the soft tokens)", Required = true };
        var soft = new Option<string?>("--soft") { Description = "soft tokens from `gmsa compress` instead of --text/--file" };
        var command = new Command("answer", "Answer a question from a compressed context") { question, soft };
        options.AddTo(command);
        command.SetAction(parse => CommandGuard.Run(() =>
        {
            if (parse.GetValue(question)!.Length == 0) throw new ArgumentException("--question is empty");
            var softFile = parse.GetValue(soft);
            CommandPaths.RequireFile(softFile, "soft-token file"); // before the model loads
            using var gmsa = options.Load(parse);
            var contexts = softFile is not null
                ? SoftTokenFile.Load(softFile, gmsa.Config.BaseModel, gmsa.Language.Model.Config.HiddenSize, gmsa.Language.Model.Device)
                : gmsa.CompressAsync([gmsa.EncodeContext(options.Context(parse))], options.RateOf(parse)).GetAwaiter().GetResult();
            try
            {
                var prompt = gmsa.EncodePrompt(parse.GetValue(question)!);
                using var joined = contexts.Count == 1 ? null : SoftTokens.Concatenate(contexts);   // a /v1/compress file of several contexts
                var read = joined ?? contexts[0];
                var completion = gmsa.GenerateAsync([read], [prompt], options.Sampling(parse, gmsa), (_, piece) => Console.Write(piece)).GetAwaiter().GetResult();
                Console.WriteLine();
                var r = completion.Result;
                Console.Error.WriteLine($"{read.ContextTokens} context tokens read as {read.Count} soft tokens; {r.GeneratedTokens} tokens, prefill {r.Prefill.TotalMilliseconds:F0} ms, decode {r.DecodeTokensPerSecond:F1} tokens/s");
            }
            finally
            {
                foreach (var c in contexts) c.Dispose();
            }
            return 0;
        }));
        return command;
    }
}
