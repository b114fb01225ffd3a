using System.CommandLine;
using Gmsa.Cli.Commands;
using Gmsa.Engine.Platform;

GlibcAllocator.KeepFreedMemory(); // libtorch's CPU activations would page-fault on every op otherwise
OpenMpWaitPolicy.SleepBetweenRegions(); // before libtorch loads: its idle threads would hold the core the decode step needs

var root = new RootCommand("Gmsa: long-context compression for LLaMA/Qwen models (GMSA), on TorchSharp.")
{
    GenerateCommand.Create(),
    InspectCommand.Create(),
    ConvertCommand.Create(),
    BenchCommand.Create(),
    DataCommand.Create(),
    TrainCommand.Create(),
    CompressCommand.Create(),
    AnswerCommand.Create(),
    ReconstructCommand.Create(),
    EvalCommand.Create(),
    PerplexityCommand.Create(),
};
return ParseErrors.InvokeOrExplain(root.Parse(args));   // a line that does not parse: one line, not the whole help
