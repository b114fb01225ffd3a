using System.CommandLine;
using Gmsa.Engine.Compression;
using Gmsa.Engine.Generation;

namespace Gmsa.Cli.Commands;

/// <summary>The options `compress`, `answer` and `reconstruct` share: model, compressor, rate, the context, decoding.</summary>
internal sealed class CompressorOptions
{
    public Option<string> Model { get; } = new("--model") { Description = "base model folder", DefaultValueFactory = _ => "models/gmsa-tiny" };
    public Option<string?> Compressor { get; } = new("--compressor") { Description = "compressor folder (default: MODEL/compressor)" };
    public Option<int> Rate { get; } = new("--rate") { Description = "compression rate r: about one soft token per r context tokens", DefaultValueFactory = _ => 4 };
    public Option<string?> Text { get; } = new("--text") { Description = "the context as text" };
    public Option<string?> File { get; } = new("--file") { Description = "the context from a UTF-8 text file" };
    public Option<int> MaxNewTokens { get; } = new("--max-new-tokens") { Description = "tokens to generate at most", DefaultValueFactory = _ => 100 };
    public Option<double?> RepetitionPenalty { get; } = new("--repetition-penalty") { Description = "1 = off (default: the model's generation_config.json, else 1; GMSA's decoding uses 1.3)" };
    public OpenAiPenaltyOptions Penalties { get; } = new();
    public DeviceOptions Device { get; } = new();

    public void AddTo(Command command, bool context = true, bool decoding = true)
    {
        command.Options.Add(Model);
        command.Options.Add(Compressor);
        command.Options.Add(Rate);
        if (context) { command.Options.Add(Text); command.Options.Add(File); }
        if (decoding) { command.Options.Add(MaxNewTokens); command.Options.Add(RepetitionPenalty); Penalties.AddTo(command); }
        Device.AddTo(command);
    }

    /// <summary>Loads the model after refusing a rate the service would refuse too (a rate of 0 was found only after loading).</summary>
    public GmsaModel Load(ParseResult parse)
    {
        RateOf(parse);
        return GmsaModel.Load(parse.GetValue(Model)!, parse.GetValue(Compressor), Device.ParseDevice(parse), Device.ParseDtype(parse));
    }

    /// <summary>--rate within [MinRate, MaxRate], the range /v1/compress takes.</summary>
    public int RateOf(ParseResult parse)
    {
        int rate = parse.GetValue(Rate);
        if (rate is < CompressorConfig.MinRate or > CompressorConfig.MaxRate)
            throw new ArgumentException($"--rate must be in [{CompressorConfig.MinRate}, {CompressorConfig.MaxRate}], got {rate}");
        return rate;
    }

    /// <summary>Exactly one of --text and --file, non-empty.</summary>
    public string Context(ParseResult parse)
    {
        string? text = parse.GetValue(Text), file = parse.GetValue(File);
        if ((text is null) == (file is null)) throw new ArgumentException("give the context with exactly one of --text and --file");
        CommandPaths.RequireFile(file, "context file");
        var context = text ?? System.IO.File.ReadAllText(file!);
        if (string.IsNullOrWhiteSpace(context)) throw new ArgumentException("the context is empty");
        return context;
    }

    /// <summary>Greedy decoding with the model's generation_config.json defaults for what the command line leaves out.</summary>
    public SamplingOptions Sampling(ParseResult parse, GmsaModel gmsa) =>
        Penalties.Apply(gmsa.Language.Generation.Resolve(temperature: 0, repetitionPenalty: parse.GetValue(RepetitionPenalty)) with
        {
            MaxNewTokens = parse.GetValue(MaxNewTokens),
        }, parse);
}
