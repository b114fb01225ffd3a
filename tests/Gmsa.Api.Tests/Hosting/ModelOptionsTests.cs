using Gmsa.Api.Tests.Infrastructure;
using Gmsa.Engine.Tests.Golden;
using TorchSharp;

namespace Gmsa.Api.Tests.Hosting;

public sealed class ModelOptionsTests(Stories260kFixture stories) : IClassFixture<Stories260kFixture>
{
    [Fact]
    public void Threads_SetToOne_AppliesOnTheModelThread()
    {
        using var factory = new ApiFactory(stories.Require(), ("Gmsa:Model:Threads", "1"));
        factory.CreateClient();

        Assert.Equal(1, factory.Model.Runner.Run(() => torch.get_num_threads()));
    }
}
