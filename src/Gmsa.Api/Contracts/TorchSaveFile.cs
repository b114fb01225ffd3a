using System.IO.Compression;
using System.Text;
using Gmsa.Engine.Compression;

namespace Gmsa.Api.Contracts;

/// <summary>
/// One tensor [rows, hidden] as <c>torch.save</c> writes it (PyTorch's zip serialization): <c>archive/data.pkl</c>, a
/// protocol-2 pickle that rebuilds the tensor with <c>torch._utils._rebuild_tensor_v2</c> from storage "0" (a
/// persistent id), <c>archive/data/0</c> with the little-endian values, and <c>archive/version</c>. This is the prompt
/// embeddings vLLM's OpenAI server takes (base64 of these bytes) with <c>--enable-prompt-embeds</c>.
/// </summary>
public static class TorchSaveFile
{
    public static byte[] Write(SoftTokenData values)
    {
        using var memory = new MemoryStream();
        using (var zip = new ZipArchive(memory, ZipArchiveMode.Create, leaveOpen: true))
        {
            Entry(zip, "archive/data.pkl", Pickle(values));
            Entry(zip, "archive/byteorder", Encoding.ASCII.GetBytes("little"));
            Entry(zip, "archive/data/0", values.Raw);
            Entry(zip, "archive/version", Encoding.ASCII.GetBytes("3\n"));
        }
        return memory.ToArray();
    }

    static void Entry(ZipArchive zip, string name, byte[] bytes)
    {
        using var stream = zip.CreateEntry(name, CompressionLevel.NoCompression).Open();   // torch.load wants stored entries
        stream.Write(bytes);
    }

    /// <summary>_rebuild_tensor_v2(persistent storage, offset 0, (rows, hidden), (hidden, 1), False, OrderedDict()).</summary>
    static byte[] Pickle(SoftTokenData v)
    {
        var p = new List<byte> { 0x80, 2 };                                    // PROTO 2
        void Op(char c) => p.Add((byte)c);
        void Global(string module, string name) { Op('c'); p.AddRange(Encoding.ASCII.GetBytes($"{module}\n{name}\n")); }
        void Text(string s) { Op('X'); var b = Encoding.UTF8.GetBytes(s); p.AddRange(BitConverter.GetBytes(b.Length)); p.AddRange(b); }
        void Int(int i) { Op('J'); p.AddRange(BitConverter.GetBytes(i)); }

        Global("torch._utils", "_rebuild_tensor_v2");
        Op('(');                                                               // MARK: the call's arguments
        Op('(');                                                               // MARK: the persistent id
        Text("storage");
        Global("torch", v.Dtype == "bfloat16" ? "BFloat16Storage" : "FloatStorage");
        Text("0");
        Text("cpu");
        Int(v.Count * v.Dimension);
        Op('t');                                                               // TUPLE
        Op('Q');                                                               // BINPERSID
        Int(0);                                                                // storage offset
        Op('('); Int(v.Count); Int(v.Dimension); Op('t');                      // size
        Op('('); Int(v.Dimension); Int(1); Op('t');                            // stride
        p.Add(0x89);                                                           // NEWFALSE: requires_grad
        Global("collections", "OrderedDict"); Op(')'); Op('R');                // backward hooks: OrderedDict()
        Op('t');
        Op('R');                                                               // REDUCE
        Op('.');                                                               // STOP
        return p.ToArray();
    }
}
