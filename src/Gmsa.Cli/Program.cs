using System.CommandLine;
using Gmsa.Cli.Commands;

var root = new RootCommand("Gmsa: long-context compression for LLaMA/Qwen models (GMSA), on TorchSharp.")
{
    GenerateCommand.Create(),
    InspectCommand.Create(),
    ConvertCommand.Create(),
    BenchCommand.Create(),
    DataCommand.Create(),
};
return root.Parse(args).Invoke();
