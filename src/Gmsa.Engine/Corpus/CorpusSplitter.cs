using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Gmsa.Engine.Corpus;

public enum CorpusSplit { Train, Validation, Test }

/// <summary>
/// Assigns each document to a split by a hash of its id, never by position or a random draw: the same
/// document lands in the same split on every run and machine, and adding a source moves no other
/// document. The first 8 bytes of SHA-256(id) read as a fraction in [0, 1); below the validation
/// fraction is validation, the next test fraction is test, the rest train.
/// </summary>
public sealed class CorpusSplitter
{
    public static readonly IReadOnlyList<CorpusSplit> Splits = [CorpusSplit.Train, CorpusSplit.Validation, CorpusSplit.Test];

    public CorpusSplitter(double validationFraction, double testFraction)
    {
        if (validationFraction is < 0 or >= 1 || testFraction is < 0 or >= 1 || validationFraction + testFraction >= 1)
            throw new ArgumentOutOfRangeException(
                $"validation ({validationFraction}) and test ({testFraction}) fractions must be in [0, 1) and leave some training data", innerException: null);
        ValidationFraction = validationFraction;
        TestFraction = testFraction;
    }

    public double ValidationFraction { get; }
    public double TestFraction { get; }

    public CorpusSplit Assign(string documentId)
    {
        double u = Position(documentId);
        return u < ValidationFraction ? CorpusSplit.Validation
            : u < ValidationFraction + TestFraction ? CorpusSplit.Test
            : CorpusSplit.Train;
    }

    /// <summary>The id's place in [0, 1).</summary>
    public static double Position(string documentId)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(documentId), hash);
        return (BinaryPrimitives.ReadUInt64BigEndian(hash) >> 11) * (1.0 / (1UL << 53));  // 53 bits: exact in a double
    }

    /// <summary>File stem of a split: train, validation, test.</summary>
    public static string FileStem(CorpusSplit split) => split.ToString().ToLowerInvariant();
}
