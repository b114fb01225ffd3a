using System.Text;
using Gmsa.Engine.Model;
using Gmsa.Engine.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace Gmsa.Engine.Checkpoints;

/// <summary>
/// Writes a LLaMA model folder in llama2.c's legacy float32 format (model.bin) with a tokenizer.bin, so
/// llama2.c's `run.c` can decode the same weights: the reference `gmsa bench decode` is compared with.
/// The inverse of <see cref="Llama2cConverter"/>: q/k rows go back from rotate-half to interleaved pairs.
/// </summary>
public static class Llama2cExport
{
    public static void Export(string modelDir, string outDir)
    {
        var config = ModelConfig.Load(Path.Combine(modelDir, "config.json"));
        if (config.ModelType != "llama" || config.AttentionBias || config.QkNorm || config.RopeScaling is not null
            || config.HeadDim * config.NumAttentionHeads != config.HiddenSize || Math.Abs(config.RopeTheta - 10000) > 1e-6)
            throw new NotSupportedException("llama2.c runs plain LLaMA only: no bias, no q/k norm, no rope scaling, theta 1e4, heads x head_dim = hidden");
        Directory.CreateDirectory(outDir);
        using (var scope = NewDisposeScope())
            WriteModel(ShardedCheckpoint.LoadFolder(modelDir), config, Path.Combine(outDir, "model.bin"));
        WriteTokenizer(TextTokenizer.Load(modelDir), Path.Combine(outDir, "tokenizer.bin"));
    }

    static void WriteModel(Dictionary<string, Tensor> w, ModelConfig c, string path)
    {
        int L = c.NumHiddenLayers;
        Tensor Get(string key) => w.TryGetValue(key, out var t) ? t.to(ScalarType.Float32) : throw new InvalidDataException($"'{key}' is missing");
        IEnumerable<Tensor> Layers(string name, Func<Tensor, Tensor>? map = null) =>
            Enumerable.Range(0, L).Select(i => (map ?? (t => t))(Get($"model.layers.{i}.{name}")));

        using var file = File.Create(path);
        using var writer = new BinaryWriter(file);
        // Header: dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size (negative = own classifier), seq_len.
        foreach (var v in new[] { c.HiddenSize, c.IntermediateSize, L, c.NumAttentionHeads, c.NumKeyValueHeads,
                     c.TieWordEmbeddings ? c.VocabSize : -c.VocabSize, c.MaxPositionEmbeddings })
            writer.Write(v);
        var arrays = new List<Tensor> { Get("model.embed_tokens.weight") };
        arrays.AddRange(Layers("input_layernorm.weight"));
        arrays.AddRange(Layers("self_attn.q_proj.weight", q => ToInterleaved(q, c.NumAttentionHeads)));
        arrays.AddRange(Layers("self_attn.k_proj.weight", k => ToInterleaved(k, c.NumKeyValueHeads)));
        arrays.AddRange(Layers("self_attn.v_proj.weight"));
        arrays.AddRange(Layers("self_attn.o_proj.weight"));
        arrays.AddRange(Layers("post_attention_layernorm.weight"));
        arrays.AddRange(Layers("mlp.gate_proj.weight"));
        arrays.AddRange(Layers("mlp.down_proj.weight"));
        arrays.AddRange(Layers("mlp.up_proj.weight"));
        arrays.Add(Get("model.norm.weight"));
        // The legacy format's RoPE tables (run.c skips them): [seq_len, head_dim / 2] cos, then sin.
        arrays.Add(zeros(2L * c.MaxPositionEmbeddings * (c.HeadDim / 2)));
        if (!c.TieWordEmbeddings) arrays.Add(Get("lm_head.weight"));
        foreach (var a in arrays)
            writer.Write(MemoryMarshalBytes(a));
    }

    /// <summary>Each head's rows from [first halves ; second halves] back to interleaved pairs.</summary>
    internal static Tensor ToInterleaved(Tensor w, long numHeads)
    {
        long rows = w.shape[0], cols = w.shape[1];
        return w.view(numHeads, 2, rows / numHeads / 2, cols).transpose(1, 2).reshape(rows, cols);
    }

    static byte[] MemoryMarshalBytes(Tensor t)
    {
        var floats = t.contiguous().data<float>().ToArray();
        var bytes = new byte[floats.Length * sizeof(float)];
        Buffer.BlockCopy(floats, 0, bytes, 0, bytes.Length);
        return bytes;
    }

    /// <summary>
    /// llama2.c's tokenizer.bin: max_token_length, then per id a float score, a byte length and the
    /// piece with '▁' as a space. Scores only steer run.c's prompt encoding; the ids' negated ranks stand
    /// in for SentencePiece's (BPE scores are negated merge ranks), so prompts should be BOS only.
    /// </summary>
    static void WriteTokenizer(TextTokenizer tokenizer, string path)
    {
        var pieces = Enumerable.Range(0, tokenizer.VocabSize)
            .Select(id => Encoding.UTF8.GetBytes((tokenizer.TokenText(id) ?? "").Replace('\u2581', ' ')))
            .ToArray();
        using var writer = new BinaryWriter(File.Create(path));
        writer.Write(pieces.Max(p => p.Length));
        for (int id = 0; id < pieces.Length; id++)
        {
            writer.Write((float)-id);
            writer.Write(pieces[id].Length);
            writer.Write(pieces[id]);
        }
    }
}
