using System.CommandLine;
using Gmsa.Engine.Model;
using TorchSharp;

namespace Gmsa.Cli.Commands;

/// <summary>The --device/--dtype pair every model-loading command shares.</summary>
internal sealed class DeviceOptions
{
    public Option<string> Device { get; } = new("--device") { Description = "auto (CUDA when available), cpu, cuda, cuda:N", DefaultValueFactory = _ => "auto" };
    public Option<string?> Dtype { get; } = new("--dtype") { Description = "float32, bfloat16 or float16 (CUDA only); default: the checkpoint's" };

    public void AddTo(Command command)
    {
        command.Options.Add(Device);
        command.Options.Add(Dtype);
    }

    public torch.Device ParseDevice(ParseResult parse) => Devices.Parse(parse.GetValue(Device));

    public torch.ScalarType? ParseDtype(ParseResult parse) =>
        parse.GetValue(Dtype) is { } name ? Devices.ParseDtype(name) : null;
}
