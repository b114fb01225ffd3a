using System.CommandLine;

namespace Gmsa.Cli.Commands;

/// <summary>`gmsa reconstruct`: what the soft tokens kept, as the decoder restates it.</summary>
internal static class ReconstructCommand
{
    public static Command Create()
    {
        var options = new CompressorOptions();
        var command = new Command("reconstruct", "Compress a context and let the decoder restate it from the soft tokens");
        options.AddTo(command);
        command.SetAction(parse => CommandGuard.Run(() =>
        {
            using var gmsa = options.Load(parse);
            var ids = gmsa.EncodeContext(options.Context(parse));
            var contexts = gmsa.CompressAsync([ids], options.RateOf(parse)).GetAwaiter().GetResult();
            try
            {
                var sampling = options.Sampling(parse, gmsa);
                if (parse.GetResult(options.MaxNewTokens) is null) sampling = sampling with { MaxNewTokens = ids.Count + 16 };
                var completion = gmsa.ReconstructAsync(contexts, sampling).GetAwaiter().GetResult();
                Console.WriteLine(completion.Texts[0].TrimStart());
                Console.Error.WriteLine($"{ids.Count} tokens -> {contexts[0].Count} soft tokens ({contexts[0].Ratio:F2}x)");
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
