using Gmsa.Engine.Tests.Golden;

namespace Gmsa.Api.Tests.Infrastructure;

/// <summary>
/// stories260K converted once per test class, and one service over it shared by the class's tests.
/// Created on first use, so a missing ../shared/fixtures skips the test instead of failing the class.
/// </summary>
public sealed class ServiceFixture : IDisposable
{
    readonly Stories260kFixture stories = new();
    ApiFactory? factory;

    /// <summary>Limits small enough to test against the 512-token stories260K context.</summary>
    public static readonly (string, string)[] Settings =
    [
        ("Gmsa:Serving:MaxPromptTokens", "300"),
        ("Gmsa:Serving:MaxNewTokens", "400"),
        ("Gmsa:Serving:DefaultMaxTokens", "64"),
    ];

    public string ModelDir => stories.Require();

    public ApiFactory Factory => factory ??= new ApiFactory(ModelDir, Settings);

    public void Dispose()
    {
        factory?.Dispose();
        stories.Dispose();
    }
}
