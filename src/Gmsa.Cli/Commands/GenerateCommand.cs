using System.CommandLine;
using Gmsa.Engine.Generation;
using Gmsa.Engine.Text;

namespace Gmsa.Cli.Commands;

/// <summary>`gmsa generate`: text on stdout as it is produced, speed on stderr.</summary>
internal static class GenerateCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Hugging Face model folder", Required = true };
        var prompt = new Option<string>("--prompt") { Description = "prompt text", Required = true };
        var maxNew = new Option<int>("--max-new-tokens") { Description = "tokens to generate at most", DefaultValueFactory = _ => 128 };
        // Left out, these take the model folder's generation_config.json values (then greedy, 1, all, off).
        var temperature = new Option<double?>("--temperature") { Description = "0 = greedy (default: the model's generation_config.json, else 0)" };
        var topP = new Option<double?>("--top-p") { Description = "nucleus sampling mass (default: generation_config.json, else 1)" };
        var topK = new Option<int?>("--top-k") { Description = "keep the k most likely tokens, 0 = all (default: generation_config.json, else 0)" };
        var penalty = new Option<double?>("--repetition-penalty") { Description = "1 = off (default: generation_config.json, else 1)" };
        var penalties = new OpenAiPenaltyOptions();
        var seed = new Option<long>("--seed") { Description = "sampling seed", DefaultValueFactory = _ => 0 };
        var chat = new Option<bool>("--chat") { Description = "wrap the prompt in the model's chat template as a user turn" };
        var stop = new Option<string[]>("--stop") { Description = "end the text before the first of these strings (up to 4)", AllowMultipleArgumentsPerToken = true };
        var device = new DeviceOptions();
        var command = new Command("generate", "Continue a prompt with a model folder") { model, prompt, maxNew, temperature, topP, topK, penalty };
        penalties.AddTo(command);
        command.Options.Add(seed);
        command.Options.Add(chat);
        command.Options.Add(stop);
        device.AddTo(command);
        command.SetAction(parse => CommandGuard.Run(() =>
        {
            // What the command line alone can refuse is refused before the model loads.
            var text = parse.GetValue(prompt)!;
            if (text.Length == 0) throw new ArgumentException("--prompt is empty");
            var stops = parse.GetValue(stop) ?? [];
            if (stops.Length > 4) throw new ArgumentException($"--stop takes at most 4 strings, got {stops.Length}");
            if (stops.Any(s => s.Length == 0)) throw new ArgumentException("--stop strings must not be empty");

            using var lm = LanguageModel.Load(parse.GetValue(model)!, device.ParseDevice(parse), device.ParseDtype(parse));
            var sampling = penalties.Apply(lm.Generation.Resolve(parse.GetValue(temperature), parse.GetValue(topP), parse.GetValue(topK), parse.GetValue(penalty)) with
            {
                MaxNewTokens = parse.GetValue(maxNew),
                Seed = parse.GetValue(seed),
            }, parse);
            sampling.Validate();
            var ids = parse.GetValue(chat) ? lm.EncodeChat([new ChatMessage("user", text)]) : lm.Encode(text);
            // The prompt is echoed with the first piece, so a refused request (too long for the context) prints only its error.
            bool echo = !parse.GetValue(chat);
            void Echo() { if (echo) { Console.Write(text); echo = false; } }
            // Stop strings are matched on the text as it is printed; the generation is cancelled at the first one.
            var filter = new StopSequenceFilter(stops);
            using var stopped = new CancellationTokenSource();
            var completion = lm.CompleteAsync([ids], sampling, (_, piece) =>
            {
                Echo();
                var (ready, hit) = filter.Push(piece);
                Console.Write(ready);
                if (hit) stopped.Cancel();
            }, stopped.Token).GetAwaiter().GetResult();
            Echo();
            Console.WriteLine(filter.Flush());
            var r = completion.Result;
            string reason = filter.Stopped ? "stop string" : r.Sequences[0].Reason.ToString().ToLowerInvariant();
            Console.Error.WriteLine(
                $"{r.GeneratedTokens} tokens, prompt {r.PromptTokens} tokens in {r.Prefill.TotalMilliseconds:F0} ms, " +
                $"decode {r.DecodeTokensPerSecond:F1} tokens/s ({reason})");
            return 0;
        }));
        return command;
    }
}
