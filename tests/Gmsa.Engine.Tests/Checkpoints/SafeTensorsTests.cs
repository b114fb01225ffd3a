using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using Gmsa.Engine.Checkpoints;
using Microsoft.Win32.SafeHandles;
using TorchSharp;
using static TorchSharp.torch;

namespace Gmsa.Engine.Tests.Checkpoints;

public sealed class SafeTensorsTests
{
    static Tensor Sample(ScalarType type) => type switch
    {
        // Values beyond int32 and negative ones catch a truncating or sign-losing path.
        ScalarType.Int64 => torch.tensor(new long[] { long.MinValue, -3, 0, 7, 1L << 40, long.MaxValue }).reshape(2, 3),
        ScalarType.Int32 => torch.tensor(new[] { int.MinValue, -1, 0, 5, 99, int.MaxValue }).reshape(3, 2),
        ScalarType.Bool => torch.tensor(new[] { true, false, false, true, true }),
        ScalarType.Byte => torch.arange(0, 256, dtype: ScalarType.Int32).to(ScalarType.Byte),
        _ => torch.randn(new long[] { 4, 3, 5 }, generator: new Generator(7)).to(type),
    };

    [Theory]
    [InlineData(ScalarType.Float32)]
    [InlineData(ScalarType.BFloat16)]
    [InlineData(ScalarType.Float16)]
    [InlineData(ScalarType.Int64)]
    [InlineData(ScalarType.Int32)]
    [InlineData(ScalarType.Bool)]
    [InlineData(ScalarType.Byte)]
    public void SafeTensors_RoundTrip_BytesEqual(ScalarType type)
    {
        using var scope = torch.NewDisposeScope();
        using var dir = new TempDir();
        var original = Sample(type);
        SafeTensors.Save(dir.File("t.safetensors"), [new("w", original)]);

        var loaded = SafeTensors.Load(dir.File("t.safetensors"));

        var w = Assert.Single(loaded).Value;
        Assert.Equal(type, w.dtype);
        Assert.Equal(original.shape, w.shape);
        Assert.Equal(original.bytes.ToArray(), w.bytes.ToArray());
    }

    [Fact]
    public void SafeTensors_RoundTrip_ScalarAndEmptyTensorsKeepShape()
    {
        using var scope = torch.NewDisposeScope();
        using var dir = new TempDir();
        SafeTensors.Save(dir.File("t.safetensors"),
            [new("scalar", torch.tensor(2.5f)), new("empty", torch.empty(0, 4))]);

        var loaded = SafeTensors.Load(dir.File("t.safetensors"));

        Assert.Empty(loaded["scalar"].shape);
        Assert.Equal(2.5f, loaded["scalar"].item<float>());
        Assert.Equal([0L, 4L], loaded["empty"].shape);
    }

    [Fact]
    public void SafeTensors_Save_HeaderMatchesSpec()
    {
        using var scope = torch.NewDisposeScope();
        using var dir = new TempDir();
        string path = dir.File("t.safetensors");
        var b = torch.arange(6, dtype: ScalarType.Float32).reshape(2, 3);
        var a = torch.arange(4, dtype: ScalarType.Int64);
        var c = torch.ones(3, dtype: ScalarType.BFloat16);
        // Given out of order, and b as a non-contiguous view: the file must hold sorted, packed rows.
        SafeTensors.Save(path, [new("b", b.t().contiguous().t()), new("c", c), new("a", a)],
            new Dictionary<string, string> { ["format"] = "pt" });

        byte[] raw = File.ReadAllBytes(path);
        long n = (long)BinaryPrimitives.ReadUInt64LittleEndian(raw);
        Assert.Equal(0, n % 8);
        string headerText = Encoding.UTF8.GetString(raw, 8, (int)n);
        Assert.Matches(@"^\{.*\} *$", headerText); // JSON, then space padding only
        using var header = JsonDocument.Parse(headerText);
        var names = header.RootElement.EnumerateObject().Select(p => p.Name).ToArray();
        Assert.Equal(["__metadata__", "a", "b", "c"], names);
        Assert.Equal("pt", header.RootElement.GetProperty("__metadata__").GetProperty("format").GetString());

        long[] Offsets(string k) => header.RootElement.GetProperty(k).GetProperty("data_offsets").EnumerateArray().Select(x => x.GetInt64()).ToArray();
        Assert.Equal([0L, 32L], Offsets("a"));   // I64 [4]
        Assert.Equal([32L, 56L], Offsets("b"));  // F32 [2, 3]
        Assert.Equal([56L, 62L], Offsets("c"));  // BF16 [3]
        Assert.Equal("I64", header.RootElement.GetProperty("a").GetProperty("dtype").GetString());
        Assert.Equal("BF16", header.RootElement.GetProperty("c").GetProperty("dtype").GetString());
        Assert.Equal([2L, 3L], header.RootElement.GetProperty("b").GetProperty("shape").EnumerateArray().Select(x => x.GetInt64()));
        Assert.Equal(8 + n + 62, raw.Length);

        // b's bytes are 0..5 as little-endian float32, row-major.
        var bData = raw.AsSpan((int)(8 + n + 32), 24);
        for (int i = 0; i < 6; i++)
            Assert.Equal((float)i, BinaryPrimitives.ReadSingleLittleEndian(bData[(4 * i)..]));
        Assert.Equal(1L, BinaryPrimitives.ReadInt64LittleEndian(raw.AsSpan((int)(8 + n + 8))));
    }

    [Fact]
    public void SafeTensors_ReadHeader_ReportsDtypeShapeOffsets()
    {
        using var scope = torch.NewDisposeScope();
        using var dir = new TempDir();
        string path = dir.File("t.safetensors");
        SafeTensors.Save(path, [new("x", torch.zeros(5, 2, dtype: ScalarType.Float16)), new("y", torch.zeros(3))]);

        var info = SafeTensors.ReadHeader(path);

        Assert.Equal("F16", info["x"].Dtype);
        Assert.Equal([5L, 2L], info["x"].Shape);
        Assert.Equal((0L, 20L), (info["x"].DataBegin, info["x"].DataEnd));
        Assert.Equal((20L, 32L), (info["y"].DataBegin, info["y"].DataEnd));
        Assert.Empty(SafeTensors.ReadMetadata(path));
    }

    [Fact]
    public void SafeTensors_Save_LeavesNoTmpFileAndReplacesOld()
    {
        using var scope = torch.NewDisposeScope();
        using var dir = new TempDir();
        string path = dir.File("t.safetensors");
        SafeTensors.Save(path, [new("old", torch.zeros(100))]);
        SafeTensors.Save(path, [new("new", torch.ones(2))]);

        Assert.False(File.Exists(path + ".tmp"));
        Assert.Equal(["t.safetensors"], Directory.GetFiles(dir.Path).Select(Path.GetFileName));
        Assert.Equal(["new"], SafeTensors.ReadHeader(path).Keys);
    }

    [Fact]
    public void SafeTensors_SaveFails_LeavesOldFileAndNoTmp()
    {
        using var scope = torch.NewDisposeScope();
        using var dir = new TempDir();
        string path = dir.File("t.safetensors");
        SafeTensors.Save(path, [new("old", torch.zeros(3))]);

        // A complex tensor has no safetensors dtype here: the save fails after the header is planned.
        Assert.Throws<NotSupportedException>(() =>
            SafeTensors.Save(path, [new("z", torch.zeros(2, dtype: ScalarType.ComplexFloat32))]));

        Assert.False(File.Exists(path + ".tmp"));
        Assert.Equal(["old"], SafeTensors.ReadHeader(path).Keys);
    }

    [Fact]
    public void SafeTensors_Load_TruncatedData_ThrowsInvalidData()
    {
        using var scope = torch.NewDisposeScope();
        using var dir = new TempDir();
        string path = dir.File("t.safetensors");
        SafeTensors.Save(path, [new("a", torch.zeros(4)), new("b", torch.zeros(4))]);
        using (var f = File.OpenWrite(path)) f.SetLength(f.Length - 3);

        var e = Assert.Throws<InvalidDataException>(() => SafeTensors.Load(path));
        Assert.Contains("'b'", e.Message);
        Assert.Contains(path, e.Message);
    }

    [Theory]
    [InlineData("hello world, this is plain text and not a tensor file at all", "its first 8 bytes give a ")]
    [InlineData("hi", "2 bytes: too short")]
    public void ReadHeader_FileOfAnotherKind_SaysItIsNotSafetensorsNamingThePath(string content, string detail)
    {
        using var dir = new TempDir();
        string path = dir.File("notes.txt");
        File.WriteAllText(path, content);

        var e = Assert.Throws<InvalidDataException>(() => SafeTensors.ReadHeader(path));
        Assert.StartsWith($"'{path}' is not a safetensors file (", e.Message);
        Assert.Contains(detail, e.Message);
    }

    [Fact]
    public void ReadHeader_MissingFile_SaysTheSafetensorsFileDoesNotExist()
    {
        using var dir = new TempDir();
        string path = Path.Combine(dir.Path, "missing", "model.safetensors");

        var e = Assert.Throws<FileNotFoundException>(() => SafeTensors.ReadHeader(path));
        Assert.Equal($"safetensors file '{path}' does not exist", e.Message);
    }

    [Fact]
    public void Save_IntoAMissingFolder_NamesTheFolderNotTheTemporaryFile()
    {
        using var dir = new TempDir();
        string path = Path.Combine(dir.Path, "missing", "soft.safetensors");

        var e = Assert.Throws<DirectoryNotFoundException>(() => SafeTensors.Save(path, [new("a", torch.zeros(2))]));
        Assert.Contains($"the folder '{Path.GetDirectoryName(path)}' does not exist", e.Message);
        Assert.DoesNotContain(".tmp", e.Message);
    }

    [Fact]
    public void SafeTensors_Load_TruncatedHeader_ThrowsInvalidData()
    {
        using var dir = new TempDir();
        string path = dir.File("t.safetensors");
        WriteRaw(path, """{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", new byte[4]);
        using (var f = File.OpenWrite(path)) f.SetLength(20);

        Assert.Throws<InvalidDataException>(() => SafeTensors.Load(path));
    }

    [Theory]
    [InlineData("""{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}""", "needs 12")]
    [InlineData("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}""", "pass the end")]
    [InlineData("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}""", "end before")]
    [InlineData("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", "overlap")]
    [InlineData("""{"a":{"dtype":"Q4","shape":[2],"data_offsets":[0,8]}}""", "unknown dtype 'Q4'")]
    [InlineData("""{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}""", "shape")]
    [InlineData("""{"a":{"dtype":"F32","shape":[2]}}""", "data_offsets")]
    [InlineData("""[1,2]""", "not a JSON object")]
    [InlineData("""{"a":""", "not JSON")]
    public void SafeTensors_Load_BadHeader_ThrowsInvalidDataNamingFileAndTensor(string header, string expected)
    {
        using var dir = new TempDir();
        string path = dir.File("bad.safetensors");
        WriteRaw(path, header, new byte[8]);

        var e = Assert.Throws<InvalidDataException>(() => SafeTensors.Load(path));
        Assert.Contains(expected, e.Message);
        Assert.Contains("bad.safetensors", e.Message);
        if (header.StartsWith("{\"a\":{", StringComparison.Ordinal)) Assert.Contains("'", e.Message);
    }

    [Fact]
    public void SafeTensors_Load_HeaderLengthPastEnd_ThrowsInvalidData()
    {
        using var dir = new TempDir();
        string path = dir.File("t.safetensors");
        var raw = new byte[16];
        BinaryPrimitives.WriteUInt64LittleEndian(raw, 1000);
        File.WriteAllBytes(path, raw);

        var e = Assert.Throws<InvalidDataException>(() => SafeTensors.Load(path));
        Assert.Contains("1000-byte header", e.Message);
    }

    [Fact]
    public void TensorBytes_SmallChunks_ReadAndWriteEqualWholeTensor()
    {
        // Tensors over 2 GiB go through narrowed slices; use tiny slices to prove offsets are honoured.
        using var scope = torch.NewDisposeScope();
        using var dir = new TempDir();
        string path = dir.File("raw.bin");
        var source = torch.randn(new long[] { 37, 11 }, generator: new Generator(3));
        using (var stream = File.Create(path)) TensorBytes.Write(stream, source, chunkBytes: 20);
        Assert.Equal(source.bytes.ToArray(), File.ReadAllBytes(path));

        var target = torch.empty(37, 11);
        using (SafeFileHandle file = File.OpenHandle(path)) TensorBytes.Read(file, target, 0, path, chunkBytes: 24);
        Assert.Equal(source.bytes.ToArray(), target.bytes.ToArray());
    }

    static void WriteRaw(string path, string header, byte[] data)
    {
        byte[] h = Encoding.UTF8.GetBytes(header);
        var raw = new byte[8 + h.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(raw, (ulong)h.Length);
        h.CopyTo(raw, 8);
        data.CopyTo(raw, 8 + h.Length);
        File.WriteAllBytes(path, raw);
    }
}
