using Gmsa.Engine.Evaluation;

namespace Gmsa.Engine.Tests.Evaluation;

public sealed class PasskeyMatchTests
{
    [Theory]
    [InlineData("The pass key is 71432.")]
    [InlineData("71432")]
    [InlineData("key=71432abc")]        // letters around it are fine, only digits extend a number
    [InlineData("714321, I mean 71432")] // a later whole occurrence counts
    public void Contains_WholeNumber_IsTrue(string answer) =>
        Assert.True(PasskeyMatch.Contains("71432", answer));

    [Theory]
    [InlineData("714321")]
    [InlineData("The pass key is 171432")]
    [InlineData("7143 2")]
    [InlineData("71,432")]
    [InlineData("")]
    public void Contains_NotAsAWholeNumber_IsFalse(string answer) =>
        Assert.False(PasskeyMatch.Contains("71432", answer));

    [Theory]
    [InlineData("")]
    [InlineData("71a32")]
    public void Contains_KeyNotDigits_Throws(string passkey) =>
        Assert.Throws<ArgumentException>(() => PasskeyMatch.Contains(passkey, "71432"));
}
