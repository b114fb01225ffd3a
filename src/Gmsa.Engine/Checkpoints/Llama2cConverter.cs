using System.Buffers.Binary;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gmsa.Engine.Model;
using Gmsa.Engine.Text;
using Microsoft.Win32.SafeHandles;
using TorchSharp;
using static TorchSharp.torch;

namespace Gmsa.Engine.Checkpoints;

/// <summary>
/// Converts a llama2.c float32 checkpoint (legacy or "version 1" export) into a Hugging Face LLaMA
/// folder: config.json, generation_config.json, model.safetensors, tokenizer.model, tokenizer_config.json.
/// </summary>
public static class Llama2cConverter
{
    const uint MagicV1 = 0x616b3432; // "ak42"
    const int LegacyHeaderBytes = 7 * sizeof(int);
    const int V1HeaderBytes = 256;

    /// <summary>The 7 ints of llama2.c's Config, plus where the float32 arrays start.</summary>
    internal sealed record Header(
        int Version, int Dim, int HiddenDim, int NumLayers, int NumHeads, int NumKvHeads, int VocabSize, int SeqLen,
        bool SharedClassifier, long DataStart)
    {
        public int HeadSize => Dim / NumHeads;
        public int KvDim => HeadSize * NumKvHeads;
    }

    public static void Convert(string modelBin, string tokenizerModel, string outDir)
    {
        if (!File.Exists(tokenizerModel))
            throw new FileNotFoundException($"tokenizer '{tokenizerModel}' does not exist", tokenizerModel);
        int pieces = TextTokenizer.Load(tokenizerModel).VocabSize;   // a tokenizer.bin or other file fails here, named
        using var scope = torch.NewDisposeScope();
        var weights = ReadWeights(modelBin, out var h);
        // Another model's tokenizer converts "fine" and decodes every id into the wrong piece.
        if (pieces != h.VocabSize)
            throw new InvalidDataException($"tokenizer '{tokenizerModel}' has {pieces} pieces but '{modelBin}' was trained on a vocabulary of {h.VocabSize}: pass the tokenizer the model was trained with");

        Directory.CreateDirectory(outDir);
        ShardedCheckpoint.SaveFolder(outDir, weights);
        var config = new ModelConfig
        {
            ModelType = "llama",
            VocabSize = h.VocabSize,
            HiddenSize = h.Dim,
            IntermediateSize = h.HiddenDim,
            NumHiddenLayers = h.NumLayers,
            NumAttentionHeads = h.NumHeads,
            NumKeyValueHeads = h.NumKvHeads,
            HeadDim = h.HeadSize,
            MaxPositionEmbeddings = h.SeqLen,
            RmsNormEps = 1e-5, // llama2.c's rmsnorm adds 1e-5
            RopeTheta = 10000.0,
            TieWordEmbeddings = h.SharedClassifier,
            BosTokenId = 1,
            EosTokenIds = [2],
            TorchDtype = "float32",
        };
        File.WriteAllText(Path.Combine(outDir, "config.json"), config.ToJson() + "\n");
        WriteJson(Path.Combine(outDir, "generation_config.json"), new JsonObject { ["bos_token_id"] = 1, ["eos_token_id"] = 2 });
        TokenizerConfig.WriteLlama(outDir, modelMaxLength: h.SeqLen);
        // A stream copy, not File.Copy: that keeps the source's mode, and a read-only fixture would
        // leave a read-only tokenizer.model that a later conversion into the same folder cannot replace.
        using (var source = File.OpenRead(tokenizerModel))
        using (var target = File.Create(Path.Combine(outDir, "tokenizer.model")))
            source.CopyTo(target);
    }

    /// <summary>Reads the checkpoint into CPU float32 tensors under Hugging Face LLaMA names, q/k rows permuted.</summary>
    internal static Dictionary<string, Tensor> ReadWeights(string modelBin, out Header header)
    {
        using var file = File.OpenHandle(modelBin, FileMode.Open, FileAccess.Read, FileShare.Read);
        var h = header = ReadHeader(file, modelBin);
        var reader = new ArrayReader(file, modelBin, h.DataStart);
        int L = h.NumLayers;
        long dim = h.Dim, hidden = h.HiddenDim, kvDim = h.KvDim, vocab = h.VocabSize;

        Tensor embed, finalNorm;
        Tensor[] attnNorm, ffnNorm, wq, wk, wv, wo, w1, w2, w3;
        if (h.Version == 0)
        {
            // legacy_export: embedding, then each array for all layers in turn, then the RoPE tables.
            embed = reader.Next(vocab, dim);
            attnNorm = reader.PerLayer(L, dim);
            wq = reader.PerLayer(L, dim, dim);
            wk = reader.PerLayer(L, kvDim, dim);
            wv = reader.PerLayer(L, kvDim, dim);
            wo = reader.PerLayer(L, dim, dim);
            ffnNorm = reader.PerLayer(L, dim);
            w1 = reader.PerLayer(L, hidden, dim);
            w2 = reader.PerLayer(L, dim, hidden);
            w3 = reader.PerLayer(L, hidden, dim);
            finalNorm = reader.Next(dim);
            reader.Skip((long)h.SeqLen * h.HeadSize); // freq_cis_real and freq_cis_imag, [seq_len, head_size / 2] each
        }
        else
        {
            // version1_export: the norms first, then the embedding and the matrices; no RoPE tables.
            attnNorm = reader.PerLayer(L, dim);
            ffnNorm = reader.PerLayer(L, dim);
            finalNorm = reader.Next(dim);
            embed = reader.Next(vocab, dim);
            wq = reader.PerLayer(L, dim, dim);
            wk = reader.PerLayer(L, kvDim, dim);
            wv = reader.PerLayer(L, kvDim, dim);
            wo = reader.PerLayer(L, dim, dim);
            w1 = reader.PerLayer(L, hidden, dim);
            w2 = reader.PerLayer(L, dim, hidden);
            w3 = reader.PerLayer(L, hidden, dim);
        }
        Tensor? classifier = h.SharedClassifier ? null : reader.Next(vocab, dim);

        // In model order, so shards (for big models) fill layer by layer.
        var weights = new Dictionary<string, Tensor> { ["model.embed_tokens.weight"] = embed };
        for (int i = 0; i < L; i++)
        {
            string p = $"model.layers.{i}.";
            weights[p + "input_layernorm.weight"] = attnNorm[i];
            weights[p + "self_attn.q_proj.weight"] = PermuteForRotateHalf(wq[i], h.NumHeads);
            weights[p + "self_attn.k_proj.weight"] = PermuteForRotateHalf(wk[i], h.NumKvHeads);
            wq[i].Dispose(); // the permuted copies replace them
            wk[i].Dispose();
            weights[p + "self_attn.v_proj.weight"] = wv[i];
            weights[p + "self_attn.o_proj.weight"] = wo[i];
            weights[p + "post_attention_layernorm.weight"] = ffnNorm[i];
            weights[p + "mlp.gate_proj.weight"] = w1[i];
            weights[p + "mlp.down_proj.weight"] = w2[i];
            weights[p + "mlp.up_proj.weight"] = w3[i];
        }
        weights["model.norm.weight"] = finalNorm;
        if (classifier is not null) weights["lm_head.weight"] = classifier;
        return weights;
    }

    /// <summary>
    /// llama2.c's RoPE rotates interleaved pairs (0,1),(2,3).. of each head; Hugging Face rotates halves
    /// (i, i + Dh/2). Reordering each head's rows from [pairs] to [evens ; odds] makes the two agree;
    /// this is transformers' convert_llama_weights_to_hf.py `permute`.
    /// </summary>
    internal static Tensor PermuteForRotateHalf(Tensor w, long numHeads)
    {
        long rows = w.shape[0], cols = w.shape[1];
        using var pairs = w.view(numHeads, rows / numHeads / 2, 2, cols); // [H, Dh/2, 2, C]
        using var halves = pairs.transpose(1, 2);                          // [H, 2, Dh/2, C]
        return halves.reshape(rows, cols);                                 // a copy: halves is not contiguous
    }

    internal static Header ReadHeader(SafeFileHandle file, string path)
    {
        long length = RandomAccess.GetLength(file);
        var buffer = new byte[V1HeaderBytes];
        var raw = buffer.AsSpan(0, RandomAccess.Read(file, buffer, 0)).ToArray();
        if (raw.Length < LegacyHeaderBytes)
            throw Invalid(path, $"is {length} bytes long, too short for a llama2.c header");
        int Int(int at) => BinaryPrimitives.ReadInt32LittleEndian(raw.AsSpan(at));

        Header h;
        if (BinaryPrimitives.ReadUInt32LittleEndian(raw.AsSpan()) == MagicV1)
        {
            if (raw.Length < V1HeaderBytes)
                throw Invalid(path, $"is {length} bytes long, too short for a llama2.c version 1 header ({V1HeaderBytes} bytes)");
            int version = Int(4);
            if (version != 1)
                throw Invalid(path, $"is llama2.c export version {version}; only the legacy format and version 1 (float32) are supported");
            h = new Header(1, Int(8), Int(12), Int(16), Int(20), Int(24), Int(28), Int(32), raw[36] != 0, V1HeaderBytes);
        }
        else
        {
            // A negative vocab_size is how the legacy format says the classifier is not shared.
            int vocab = Int(20);
            h = new Header(0, Int(0), Int(4), Int(8), Int(12), Int(16), Math.Abs(vocab), Int(24), vocab > 0, LegacyHeaderBytes);
        }

        string shape = $"dim {h.Dim}, hidden_dim {h.HiddenDim}, n_layers {h.NumLayers}, n_heads {h.NumHeads}, " +
            $"n_kv_heads {h.NumKvHeads}, vocab_size {h.VocabSize}, seq_len {h.SeqLen}";
        bool sane = h.Dim > 0 && h.HiddenDim > 0 && h.NumLayers > 0 && h.NumHeads > 0 && h.NumKvHeads > 0
            && h.VocabSize > 0 && h.SeqLen > 0 && h.Dim % h.NumHeads == 0 && h.NumHeads % h.NumKvHeads == 0
            && h.HeadSize % 2 == 0;
        if (!sane)
            throw Invalid(path, $"has an impossible llama2.c header ({shape}); not a llama2.c checkpoint?");

        long expected;
        try { expected = checked(h.DataStart + 4 * FloatCount(h)); }
        catch (OverflowException) { throw Invalid(path, $"has an impossible llama2.c header ({shape})"); }
        if (length != expected)
            throw Invalid(path, $"is {length} bytes, but a llama2.c {(h.Version == 0 ? "legacy" : "version 1")} checkpoint " +
                $"with {shape} and {(h.SharedClassifier ? "a shared" : "its own")} classifier is {expected} bytes: truncated or not a llama2.c file");
        return h;
    }

    static long FloatCount(Header h)
    {
        checked
        {
            long L = h.NumLayers, dim = h.Dim, kvDim = h.KvDim, hidden = h.HiddenDim, vocab = h.VocabSize;
            long perLayer = 2 * dim + 2 * dim * dim + 2 * kvDim * dim + 3 * hidden * dim;
            long n = vocab * dim + L * perLayer + dim;
            if (h.Version == 0) n += (long)h.SeqLen * h.HeadSize; // the two RoPE tables
            if (!h.SharedClassifier) n += vocab * dim;
            return n;
        }
    }

    /// <summary>Reads consecutive float32 arrays straight into new tensors.</summary>
    sealed class ArrayReader(SafeFileHandle file, string path, long start)
    {
        long position = start;

        public Tensor Next(params long[] shape)
        {
            var t = torch.empty(shape, ScalarType.Float32);
            TensorBytes.Read(file, t, position, path);
            position += t.numel() * sizeof(float);
            return t;
        }

        public Tensor[] PerLayer(int layers, params long[] shape) =>
            Enumerable.Range(0, layers).Select(_ => Next(shape)).ToArray();

        public void Skip(long floats) => position += floats * sizeof(float);
    }

    static void WriteJson(string path, JsonObject o) =>
        File.WriteAllText(path, o.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");

    static InvalidDataException Invalid(string path, string why) => new($"'{path}' {why}");
}
