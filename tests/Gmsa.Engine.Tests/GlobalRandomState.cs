namespace Gmsa.Engine.Tests;

/// <summary>
/// Tests that seed or read libtorch's default generator (one per process: LoRA dropout, nn.Embedding's init) run
/// alone, after the parallel ones: a test drawing from it on another thread would change their draws.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class GlobalRandomState
{
    public const string Name = "libtorch default generator";
}
