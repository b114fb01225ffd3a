using System.CommandLine;
using Gmsa.Engine.Checkpoints;
using Gmsa.Engine.Compression;
using Gmsa.Engine.Model;

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
        return new Command("convert", "Convert checkpoints from other formats") { llama2c, Reference(), ToLlama2c() };
    }

    /// <summary>`gmsa convert to-llama2c`: a LLaMA folder as llama2.c's model.bin + tokenizer.bin, to run the same weights with run.c.</summary>
    static Command ToLlama2c()
    {
        var model = new Option<string>("--model") { Description = "LLaMA model folder", DefaultValueFactory = _ => "models/gmsa-tiny" };
        var output = new Option<string>("--out") { Description = "folder to write model.bin and tokenizer.bin into", Required = true };
        var command = new Command("to-llama2c", "Export a LLaMA folder to llama2.c's legacy float32 format (a benchmark helper)") { model, output };
        command.SetAction(parse => CommandGuard.Run(() =>
        {
            Llama2cExport.Export(parse.GetValue(model)!, parse.GetValue(output)!);
            Console.Error.WriteLine($"wrote {parse.GetValue(output)}/model.bin and tokenizer.bin");
            return 0;
        }));
        return command;
    }

    /// <summary>`gmsa convert gmsa-reference`: the official GMSA code's model.safetensors as a compressor folder.</summary>
    static Command Reference()
    {
        var checkpoint = new Argument<string>("model.safetensors") { Description = "the reference code's checkpoint (or its folder)" };
        var model = new Option<string>("--model") { Description = "the base model folder it was trained on", Required = true };
        var output = new Option<string>("--out") { Description = "compressor folder to write", Required = true };
        var rates = new Option<int[]>("--rates") { Description = "rates it was trained on", DefaultValueFactory = _ => [4, 8], AllowMultipleArgumentsPerToken = true };
        var command = new Command("gmsa-reference", "Convert a checkpoint of the official GMSA code (encoder.*, memory_fusion_layer.*, decoder.*) to a compressor folder")
        {
            checkpoint, model, output, rates,
        };
        command.SetAction(parse => CommandGuard.Run(() =>
        {
            string modelDir = parse.GetValue(model)!;
            using var decoder = PretrainedModel.Load(modelDir, device: TorchSharp.torch.CPU);
            var before = decoder.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
            var config = new CompressorConfig { BaseModel = Path.GetFileName(Path.GetFullPath(modelDir).TrimEnd('/')), Rates = parse.GetValue(rates)! };
            using var compressor = ReferenceCheckpoint.Load(parse.GetValue(checkpoint)!, decoder, config);
            // A stage-2 checkpoint carries the fine-tuned decoder: keep the weights it changed beside the compressor.
            var changed = decoder.state_dict().Where(kv => !kv.Value.allclose(before[kv.Key], rtol: 0, atol: 0)).Select(kv => kv.Key).ToArray();
            foreach (var copy in before.Values) copy.Dispose();
            CompressorFolder.Save(parse.GetValue(output)!, compressor, decoder, changed.Length > 0 ? changed : null);
            Console.Error.WriteLine($"wrote {Path.GetFullPath(parse.GetValue(output)!)} ({changed.Length} decoder weights fine-tuned)");
            return 0;
        }));
        return command;
    }
}
