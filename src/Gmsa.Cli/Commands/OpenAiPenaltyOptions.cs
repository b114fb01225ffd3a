using System.CommandLine;
using Gmsa.Engine.Generation;

namespace Gmsa.Cli.Commands;

/// <summary>OpenAI's frequency and presence penalties (generated tokens only), for every command that decodes.</summary>
internal sealed class OpenAiPenaltyOptions
{
    public Option<double> Frequency { get; } = new("--frequency-penalty") { Description = "OpenAI's: lowers a token's logit per time it was generated, -2 to 2 (default 0, off)" };
    public Option<double> Presence { get; } = new("--presence-penalty") { Description = "OpenAI's: lowers once the logit of every generated token, -2 to 2 (default 0, off)" };

    public void AddTo(Command command)
    {
        command.Options.Add(Frequency);
        command.Options.Add(Presence);
    }

    public SamplingOptions Apply(SamplingOptions sampling, ParseResult parse) =>
        sampling with { FrequencyPenalty = parse.GetValue(Frequency), PresencePenalty = parse.GetValue(Presence) };
}
