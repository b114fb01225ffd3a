using System.CommandLine;
using System.Diagnostics;
using Gmsa.Engine.Compression;

namespace Gmsa.Cli.Commands;

/// <summary>`gmsa compress`: a context to soft tokens in a safetensors file.</summary>
internal static class CompressCommand
{
    public static Command Create()
    {
        var options = new CompressorOptions();
        var output = new Option<string>("--out") { Description = "safetensors file for the soft tokens", Required = true };
        var command = new Command("compress", "Compress a context into soft tokens (safetensors: soft_tokens [n, hidden])") { output };
        options.AddTo(command, decoding: false);
        command.SetAction(parse => CommandGuard.Run(() =>
        {
            CommandPaths.RequireOutputFolder(parse.GetValue(output));
            var context = options.Context(parse);
            using var gmsa = options.Load(parse);
            var clock = Stopwatch.StartNew();
            var soft = gmsa.CompressAsync([gmsa.EncodeContext(context)], options.RateOf(parse)).GetAwaiter().GetResult()[0];
            var elapsed = clock.Elapsed;
            using (soft)
            {
                SoftTokenFile.Save(parse.GetValue(output)!, soft, gmsa.Config.BaseModel);
                Console.WriteLine($"{soft.ContextTokens} tokens -> {soft.Count} soft tokens of {soft.Dimension} ({soft.Ratio:F2}x) in {elapsed.TotalMilliseconds:F0} ms; wrote {parse.GetValue(output)}");
            }
            return 0;
        }));
        return command;
    }
}
