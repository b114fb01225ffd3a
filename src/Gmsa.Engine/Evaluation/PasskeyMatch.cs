namespace Gmsa.Engine.Evaluation;

/// <summary>
/// Passkey retrieval: the answer is right when it contains the key's digits as a whole number, that is an
/// occurrence with no ASCII digit right before or after it. "The pass key is 71432." finds 71432; "714321" and
/// "171432" do not, so a model cannot pass by emitting a longer run of digits that happens to contain the key.
/// </summary>
public static class PasskeyMatch
{
    /// <exception cref="ArgumentException">a key that is empty or not all ASCII digits</exception>
    public static bool Contains(string passkey, string answer)
    {
        if (passkey.Length == 0 || !passkey.All(char.IsAsciiDigit))
            throw new ArgumentException($"a pass key is ASCII digits, got '{passkey}'", nameof(passkey));
        for (int at = answer.IndexOf(passkey, StringComparison.Ordinal); at >= 0; at = answer.IndexOf(passkey, at + 1, StringComparison.Ordinal))
        {
            int end = at + passkey.Length;
            bool digitBefore = at > 0 && char.IsAsciiDigit(answer[at - 1]);
            bool digitAfter = end < answer.Length && char.IsAsciiDigit(answer[end]);
            if (!digitBefore && !digitAfter) return true;
        }
        return false;
    }
}
