using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Gmsa.Engine.Checkpoints;

/// <summary>
/// A SHA-256 over the files that decide what a model or compressor folder computes: weights (`*.safetensors`, `*.bin`),
/// configs (`*config.json`) and the tokenizer (`tokenizer*`), by content and path relative to the folder. Cards, metrics,
/// plots and eval sets do not count. Keys built on it change when weights change under the same folder name, and agree
/// between copies of the same files wherever they are.
/// </summary>
public static class WeightsFingerprint
{
    /// <summary>32 hex digits over each (folder, recursive) in order: a model folder's own files, a compressor's whole tree.</summary>
    public static string Of(params (string Directory, bool Recursive)[] folders)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> length = stackalloc byte[8];
        var buffer = new byte[1 << 20];
        foreach (var (directory, recursive) in folders)
        {
            sha.AppendData("\0folder\0"u8);
            var files = Directory.EnumerateFiles(directory, "*", recursive ? SearchOption.AllDirectories : SearchOption.TopDirectoryOnly)
                .Where(f => Decides(Path.GetFileName(f)))
                .Select(f => (Relative: Path.GetRelativePath(directory, f).Replace('\\', '/'), Full: f))
                .OrderBy(f => f.Relative, StringComparer.Ordinal);
            foreach (var (relative, full) in files)
            {
                using var stream = File.OpenRead(full);
                sha.AppendData(Encoding.UTF8.GetBytes(relative + "\0"));
                BinaryPrimitives.WriteInt64LittleEndian(length, stream.Length);   // so no two files' bytes can run together
                sha.AppendData(length);
                for (int read; (read = stream.Read(buffer)) > 0;) sha.AppendData(buffer, 0, read);
            }
        }
        return Convert.ToHexStringLower(sha.GetHashAndReset())[..32];
    }

    static bool Decides(string name) =>
        name.EndsWith(".safetensors", StringComparison.Ordinal) || name.EndsWith(".bin", StringComparison.Ordinal)
        || name.EndsWith("config.json", StringComparison.Ordinal) || name.StartsWith("tokenizer", StringComparison.Ordinal);
}
