using System.CommandLine;
using Gmsa.Engine.Checkpoints;

namespace Gmsa.Cli.Commands;

/// <summary>`gmsa convert llama2c`: llama2.c checkpoints become Hugging Face folders, so there is one loading path.</summary>
internal static class ConvertCommand
{
    public static Command Create()
    {
        var modelBin = new Argument<string>("model.bin") { Description = "llama2.c checkpoint (legacy or v1 export)" };
        var tokenizer = new Argument<string>("tokenizer.model") { Description = "SentencePiece tokenizer of that model" };
        var output = new Argument<string>("out-dir") { Description = "folder to write the Hugging Face model into" };
        var llama2c = new Command("llama2c", "Convert a llama2.c checkpoint to a Hugging Face LLaMA folder") { modelBin, tokenizer, output };
        llama2c.SetAction(parse => CommandGuard.Run(() =>
        {
            var outDir = parse.GetValue(output)!;
            Llama2cConverter.Convert(parse.GetValue(modelBin)!, parse.GetValue(tokenizer)!, outDir);
            Console.Error.WriteLine($"wrote {Path.GetFullPath(outDir)}");
            return 0;
        }));
        return new Command("convert", "Convert checkpoints from other formats") { llama2c };
    }
}
