using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using Gmsa.Engine.Corpus;

namespace Gmsa.Engine.Tests.Corpus;

public class PackageCacheTests
{
    [Fact]
    public void ReadNpm_CachedTarballWithPinnedHash_ReadsItsFilesWithoutDownloading()
    {
        using var dir = new TempDir();
        string tarball = dir.File("corpus-test-1.0.0.tgz");
        WriteTarball(tarball, ("package/ca01", "\tThe/at jury/nn ./.\n"), ("package/README", "redistribution permitted"));
        var pinned = new PinnedPackage(PackageKind.Npm, "corpus-test", "1.0.0", "corpus-test-1.0.0.tgz", PackageCache.Sha256Of(tarball));

        var files = new PackageCache(dir.Path).ReadNpm(pinned);

        Assert.Equal("\tThe/at jury/nn ./.\n", Encoding.UTF8.GetString(files["package/ca01"]));
        Assert.Equal(["package/ca01", "package/README"], files.Keys);
    }

    [Fact]
    public void Fetch_CachedArchiveWithOtherHash_IsRefusedWithWhatToDo()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("corpus-test-1.0.0.tgz"), "not the pinned bytes");
        var pinned = new PinnedPackage(PackageKind.Npm, "corpus-test", "1.0.0", "corpus-test-1.0.0.tgz", new string('0', 64));

        var e = Assert.Throws<InvalidDataException>(() => new PackageCache(dir.Path).Fetch(pinned));
        Assert.Contains("is not the pinned 0000", e.Message);
        Assert.Contains("delete it and run again", e.Message);
    }

    [Fact]
    public void Require_ToolNotOnPath_NamesThePackageToInstall()
    {
        var e = Assert.Throws<FileNotFoundException>(() => ExternalTool.Require("gmsa-no-such-tool", "the Debian package nothing"));
        Assert.Equal("gmsa-no-such-tool not found on PATH: install the Debian package nothing", e.Message);
    }

    [Fact]
    public void Run_FailingCommand_ThrowsWithExitCodeAndLastErrorLine()
    {
        var e = Assert.Throws<InvalidOperationException>(() => ExternalTool.Run("sh", ["-c", "echo first >&2; echo broken archive >&2; exit 3"]));
        Assert.Contains("failed (exit 3): broken archive", e.Message);
    }

    [Fact]
    public void Run_Succeeds_ReturnsStdout()
    {
        Assert.Equal("Genesis 1\n", ExternalTool.Run("sh", ["-c", "echo Genesis 1"]));
    }

    static void WriteTarball(string path, params (string Name, string Text)[] files)
    {
        using var gzip = new GZipStream(File.Create(path), CompressionLevel.Optimal);
        using var tar = new TarWriter(gzip, TarEntryFormat.Pax);
        foreach (var (name, text) in files)
            tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(Encoding.UTF8.GetBytes(text)) });
    }
}
