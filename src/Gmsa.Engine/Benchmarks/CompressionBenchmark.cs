using Gmsa.Engine.Compression;
using Gmsa.Engine.Generation;
using Gmsa.Engine.Model;
using Gmsa.Engine.Serving;
using static TorchSharp.torch;

namespace Gmsa.Engine.Benchmarks;

/// <summary>What `gmsa bench compress` measures; the defaults are the figures on gmsa-tiny.</summary>
public sealed record CompressionBenchmarkOptions
{
    public int Repeats { get; init; } = 5;
    public int Rate { get; init; } = 8;
    /// <summary>The context GMSA compresses; the full-context side reads as much of it as the model's window allows.</summary>
    public int ContextTokens { get; init; } = 1024;
    /// <summary>The question read after the context (about 12 tokens), no BOS.</summary>
    public required IReadOnlyList<int> Question { get; init; }
    /// <summary>Starts the full-context prompt when the model has one (GMSA's decoder input starts with soft tokens).</summary>
    public int? BosId { get; init; }
    public int AnswerTokens { get; init; } = 100;
    public int EncoderContexts { get; init; } = 16;
    public int EncoderContextTokens { get; init; } = 512;
    public int TrainBatch { get; init; } = 8;
    public int TrainContextTokens { get; init; } = 128;
    /// <summary>Stage 1's instruction, tokenized (the prompt of the autoencoder step).</summary>
    public required IReadOnlyList<int> AutoencoderPrompt { get; init; }
    public int EosId { get; init; } = 2;
    public int MatmulSize { get; init; } = 1024;
    /// <summary>Seeds the random context tokens: timings do not depend on what the tokens say.</summary>
    public int Seed { get; init; }
}

/// <summary>One report line: GMSA's figure, what it is compared with, and <see cref="Ratio"/> = GMSA / baseline.</summary>
public sealed record CompressionRow(string Figure, string Unit, double Gmsa, double Baseline, string Goal, string Setup)
{
    public double Ratio => Gmsa / Baseline;
}

/// <summary>
/// GMSA against the same decoder reading the whole context, every figure measured in one process (medians after a
/// warm-up): time to the first answer token on a new context and on an already compressed one, a forced-length answer
/// end to end, the encoder with its adapters folded against as trained, the encoder's batched against per-context
/// throughput, and an autoencoder training step's achieved FLOP/s as a share of a same-run bf16 matmul. Adapters are
/// folded into inference weights after the first figure, and the decoder's (if any) are on only while it reads soft
/// tokens, as <see cref="GmsaModel"/> does. Give it a decoder and compressor loaded for it: the training step
/// changes which of their weights require gradients.
/// </summary>
public static class CompressionBenchmark
{
    /// <summary>An untrained compressor as stage 1 starts one (decoder adapters included): its timings are a trained one's.</summary>
    public static ContextCompressor FreshCompressor(CausalLM decoder, CompressorConfig config, long seed)
    {
        var compressor = ContextCompressor.FromBackbone(decoder, config, seed);
        if (config.DecoderLora is { } lora && !Lora.AdapterParameters(decoder).Any())
            Lora.AddAdapters(decoder, lora, seed + 1, Lora.InDecoderBlocks);
        compressor.eval();
        return compressor;
    }

    public static IReadOnlyList<CompressionRow> Run(CausalLM decoder, ContextCompressor compressor, CompressionBenchmarkOptions o, Action<string>? log = null)
    {
        var c = decoder.Config;
        var rng = new Random(o.Seed);
        int window = c.ContextLength, q = o.Question.Count, bos = o.BosId is null ? 0 : 1;
        int soft = SegmentedCompression.SoftTokenCount(o.ContextTokens, compressor.Config.SegmentLength, o.Rate);
        if (soft + q + o.AnswerTokens > window)
            throw new ArgumentException($"{soft} soft tokens + {q} question tokens + {o.AnswerTokens} answer tokens exceed the model's window of {window}");
        // The full-context side reads the longest prefix of the same context that fits with its question and answer.
        int fullFirst = Math.Min(o.ContextTokens, window - bos - q - 1);
        int fullAnswer = Math.Min(o.ContextTokens, window - bos - q - o.AnswerTokens);
        if (fullAnswer < 1) throw new ArgumentException($"no context fits the window of {window} beside the question and {o.AnswerTokens} answer tokens");
        var context = Tokens(rng, o.ContextTokens, c.VocabSize);
        var first = new SamplingOptions { MaxNewTokens = 1 };            // no stop ids: every run yields exactly the asked tokens
        var answer = first with { MaxNewTokens = o.AnswerTokens };
        Lora.SetActive(decoder, false);
        var rows = new List<CompressionRow>();

        // 0. The encoder with its adapters as trained (three matmuls a projection), then folded as GmsaModel serves them;
        // every figure after this one runs folded, the decoder's adapters too (training forwards bypass the fold).
        var encoderContexts = EncoderContexts(compressor, o, rng);
        var unfolded = TimeBatched(compressor, encoderContexts, o);
        Lora.MergeForInference(compressor);
        Lora.MergeForInference(decoder);
        var folded = TimeBatched(compressor, encoderContexts, o);
        rows.Add(new("encoder throughput, adapters folded vs as trained", "contexts/s", o.EncoderContexts / folded.TotalSeconds,
            o.EncoderContexts / unfolded.TotalSeconds, "-",
            $"{o.EncoderContexts} contexts x {o.EncoderContextTokens} tokens in one batched call: W + (alpha/r) B A folded into one weight " +
            "per projection (serving) against x W + (alpha/r) (x A) B"));
        log?.Invoke($"encoder: {rows[^1].Gmsa:F1} contexts/s folded, {rows[^1].Baseline:F1} as trained");

        // 1. A new context: compress, then prefill [soft ; question]; against prefill of [BOS ; context ; question].
        var (gmsaFirst, fullFirstTime) = TimePair(o, () => CompressAndAnswer(decoder, compressor, context, o, first),
            () => FullContext(decoder, FullPrompt(o, context, fullFirst), first));
        var (newFlops, followUpFlops, fullFlops) = FirstTokenFlops(decoder.Config, compressor, o, bos + fullFirst + q);
        rows.Add(new("first answer token, new context", "ms", Ms(gmsaFirst), Ms(fullFirstTime), "<= 0.35x",
            $"GMSA: compress {o.ContextTokens} tokens at rate {o.Rate} ({soft} soft) + prefill [{soft} soft ; {q} question] + 1 token; " +
            $"full: prefill [{Bos(o)}{fullFirst} context ; {q} question] + 1 token; FLOPs {newFlops / fullFlops:F3}x"));
        log?.Invoke($"first token: GMSA {Ms(gmsaFirst):F1} ms, full context {Ms(fullFirstTime):F1} ms; " +
            $"FLOPs {newFlops / 1e9:F2} G against {fullFlops / 1e9:F2} G ({newFlops / fullFlops:F3}x; a follow-up {followUpFlops / fullFlops:F3}x)");

        // 2. A follow-up on a context compressed earlier: the soft tokens are cached, only the prefill is left.
        using (var scope = NewDisposeScope())
        {
            var cached = Compress(compressor, [context], o.Rate)[0];
            var followUp = Time(o, () => AnswerFromSoft(decoder, cached, o.Question, first));
            rows.Add(new("first answer token, follow-up question (soft tokens cached)", "ms", Ms(followUp), Ms(fullFirstTime), "<= 0.15x",
                $"GMSA: prefill [{soft} soft ; {q} question] + 1 token; full: as above; FLOPs {followUpFlops / fullFlops:F3}x"));
            log?.Invoke($"follow-up: GMSA {Ms(followUp):F1} ms");
            var prefixCached = FollowUpOverCachedPrefix(decoder, cached, o);
            rows.Add(new("first answer token, follow-up question (soft tokens and the decoder's keys/values over them cached)", "ms",
                Ms(prefixCached), Ms(fullFirstTime), "<= 0.15x",
                $"GMSA: [{soft} soft] keys/values copied from a SoftPrefixCache (as the service's scheduler keeps them) + prefill [{q} question] " +
                "+ 1 token; full: as above"));
            log?.Invoke($"follow-up, prefix keys/values cached: GMSA {Ms(prefixCached):F1} ms");
            // Where a new context's time goes, each part at its own FLOP rate: the bound is only as good as their match.
            var compressOnly = Time(o, () => { using var step = NewDisposeScope(); Compress(compressor, [context], o.Rate); });
            log?.Invoke($"parts: compress {Ms(compressOnly):F1} ms ({Gflops(newFlops - followUpFlops, compressOnly):F0} GFLOP/s), " +
                $"[soft ; question] {Ms(followUp):F1} ms ({Gflops(followUpFlops, followUp):F0} GFLOP/s), " +
                $"full context {Ms(fullFirstTime):F1} ms ({Gflops(fullFlops, fullFirstTime):F0} GFLOP/s)");
        }

        // 3. A forced-length answer end to end.
        var (gmsaAnswer, fullAnswerTime) = TimePair(o, () => CompressAndAnswer(decoder, compressor, context, o, answer),
            () => FullContext(decoder, FullPrompt(o, context, fullAnswer), answer));
        rows.Add(new($"{o.AnswerTokens} answer tokens end to end", "ms", Ms(gmsaAnswer), Ms(fullAnswerTime), "-",
            $"GMSA: compress {o.ContextTokens} tokens + [{soft} soft ; {q} question] + {o.AnswerTokens} tokens; " +
            $"full: [{Bos(o)}{fullAnswer} context ; {q} question] + {o.AnswerTokens} tokens (greedy, no stop tokens)"));
        log?.Invoke($"answer: GMSA {Ms(gmsaAnswer):F1} ms, full context {Ms(fullAnswerTime):F1} ms");

        if (Lora.HasServedAdapter(decoder, CompressorFolder.RestateAdapterName))
        {
            rows.Add(RestateDecode(decoder, compressor, context, o, answer));
            log?.Invoke($"restating: {rows[^1].Gmsa:F1} ms with the restate adapter folded, {rows[^1].Baseline:F1} ms unfolded");
        }

        rows.Add(EncoderThroughput(compressor, o, encoderContexts));
        log?.Invoke($"encoder: {rows[^1].Gmsa:F1} contexts/s batched, {rows[^1].Baseline:F1} one call each");
        rows.Add(AutoencoderStep(decoder, compressor, o, rng, log));
        return rows;
    }

    static IReadOnlyList<int>[] EncoderContexts(ContextCompressor compressor, CompressionBenchmarkOptions o, Random rng) =>
        Enumerable.Range(0, o.EncoderContexts).Select(_ => (IReadOnlyList<int>)Tokens(rng, o.EncoderContextTokens, compressor.Backbone.VocabSize)).ToArray();

    /// <summary>Median time of one batched compression of <paramref name="contexts"/>.</summary>
    static TimeSpan TimeBatched(ContextCompressor compressor, IReadOnlyList<int>[] contexts, CompressionBenchmarkOptions o) =>
        Time(o, InOneCall(compressor, contexts, o));

    /// <summary>One batched compression of <paramref name="contexts"/>, its tensors freed.</summary>
    static Action InOneCall(ContextCompressor compressor, IReadOnlyList<int>[] contexts, CompressionBenchmarkOptions o) =>
        () => { using var scope = NewDisposeScope(); Compress(compressor, contexts, o.Rate); };

    /// <summary>4. The same contexts through SegmentedCompression in one batched call, then one call per context.</summary>
    static CompressionRow EncoderThroughput(ContextCompressor compressor, CompressionBenchmarkOptions o, IReadOnlyList<int>[] contexts)
    {
        var (batched, separate) = TimePair(o, InOneCall(compressor, contexts, o), () =>
        {
            foreach (var context in contexts) { using var scope = NewDisposeScope(); Compress(compressor, [context], o.Rate); }
        });
        int segments = (o.EncoderContextTokens + compressor.Config.SegmentLength - 1) / compressor.Config.SegmentLength;
        return new("encoder throughput", "contexts/s", o.EncoderContexts / batched.TotalSeconds, o.EncoderContexts / separate.TotalSeconds, "-",
            $"{o.EncoderContexts} contexts x {o.EncoderContextTokens} tokens ({segments} segments of <= {compressor.Config.SegmentLength} each) at rate {o.Rate}: " +
            "one batched SegmentedCompression call against one call per context");
    }

    /// <summary>
    /// 5. One stage-1 micro-batch, forward and backward through <see cref="CompressionObjective.LossSum"/> (the loss
    /// NextLoss takes; the optimizer step is left out), every row at the same rate so nothing is padded.
    /// </summary>
    static CompressionRow AutoencoderStep(CausalLM decoder, ContextCompressor compressor, CompressionBenchmarkOptions o, Random rng, Action<string>? log)
    {
        double matmul = EngineBenchmark.MatmulGflops(o.MatmulSize, ScalarType.BFloat16, decoder.Device, o.Repeats);
        var examples = Enumerable.Range(0, o.TrainBatch).Select(_ =>
        {
            var context = Tokens(rng, o.TrainContextTokens, decoder.Config.VocabSize);
            return new CompressionExample(context, o.AutoencoderPrompt, [.. context, o.EosId]);
        }).ToArray();
        var set = new ExampleList(examples);
        bool decoderAdapters = Lora.AdapterParameters(decoder).Any();
        var objective = new CompressionObjective(compressor, decoder, set, set, trainCompressor: true,
            decoderAdapters ? DecoderTraining.Lora : DecoderTraining.Frozen, o.TrainBatch, o.Seed);
        var batch = examples.Select(e => (e, o.Rate)).ToArray();
        Lora.SetActive(decoder, true);
        objective.SetTraining(true);
        try
        {
            var step = Time(o, () =>
            {
                using var scope = NewDisposeScope();
                var (sum, tokens) = objective.LossSum(batch, withGrad: true);
                (sum / tokens).backward();
                compressor.zero_grad();
                decoder.zero_grad();
                EngineBenchmark.Synchronize(decoder.Device);
            });
            var (honest, convention) = AutoencoderStepFlops(decoder, compressor, o, decoderAdapters);
            double achieved = honest / step.TotalSeconds / 1e9;
            log?.Invoke($"autoencoder step {Ms(step):F1} ms: {achieved:F1} GFLOP/s counted per part ({convention / step.TotalSeconds / 1e9:F1} at 3x forward); bf16 matmul {matmul:F1} GFLOP/s");
            return new("autoencoder training step", "GFLOP/s", achieved, matmul, "-",
                $"{o.TrainBatch} contexts x {o.TrainContextTokens} tokens at rate {o.Rate}, forward + backward (no optimizer step), " +
                $"against a bf16 {o.MatmulSize}^3 matmul; FLOPs: 2x forward for frozen projections, 3x for trained ones and attention");
        }
        finally
        {
            objective.SetTraining(false);
            Lora.SetActive(decoder, false);
        }
    }

    /// <summary>
    /// FLOPs of one autoencoder step (<see cref="ModelFlops"/> per part; n = ceil(T / r), S = n + P + T + 1 decoder tokens):
    ///   forward F = encoder(T) + LSA(n) + decoder(S) + head(T + 1 targets) + LoRA(encoder, decoder);
    ///   backward = F again for the input gradients, plus the weight gradients of what trains (LSA blocks, LoRA) and the
    ///   second operand of attention, so: step = 2 x (frozen projections + head) + 3 x (LSA projections + attention + LoRA).
    /// The usual 3 x F would credit weight gradients that frozen weights never get. Autograd skips the first encoder
    /// block's q/k/v input gradient (the embeddings are frozen): a slight overcount. Returns (that count, 3 x F).
    /// </summary>
    internal static (double Honest, double Convention) AutoencoderStepFlops(CausalLM decoder, ContextCompressor compressor, CompressionBenchmarkOptions o, bool decoderAdapters)
    {
        var cc = compressor.Config;
        var (encoder, lsa) = Stacks(compressor);
        long b = o.TrainBatch, t = o.TrainContextTokens, n = GroupMerge.MergedLength(o.TrainContextTokens, o.Rate), s = n + o.AutoencoderPrompt.Count + t + 1;
        double frozen = ModelFlops.TrunkLinear(encoder, b * t) + ModelFlops.TrunkLinear(decoder.Config, b * s) + ModelFlops.Head(decoder.Config, b * (t + 1));
        double trained = (lsa is not null ? ModelFlops.TrunkLinear(lsa, b * n) + ModelFlops.Attention(lsa, b, n) : 0)
            + ModelFlops.Attention(encoder, b, t) + ModelFlops.Attention(decoder.Config, b, s)
            + ModelFlops.Lora(encoder, cc.LoraRank, b * t)
            + (decoderAdapters && cc.DecoderLora is { } dl ? ModelFlops.Lora(decoder.Config, dl.Rank, b * s) : 0);
        return (2 * frozen + 3 * trained, 3 * (frozen + trained));
    }

    /// <summary>
    /// Matmul FLOPs (<see cref="ModelFlops"/>) of the first answer token, the bound a timing ratio is read against. New
    /// context: the encoder over each segment (attention within it), the LSA blocks over each segment's merged vectors,
    /// then the decoder over [soft ; question] with the head at its last position; a follow-up is that decoder part alone;
    /// full context: the decoder over <paramref name="fullTokens"/>. Folded adapters add nothing.
    /// </summary>
    internal static (double NewContext, double FollowUp, double Full) FirstTokenFlops(ModelConfig decoder, ContextCompressor compressor,
        CompressionBenchmarkOptions o, int fullTokens)
    {
        int segment = compressor.Config.SegmentLength, fullSegments = o.ContextTokens / segment, rest = o.ContextTokens % segment;
        int merged = GroupMerge.MergedLength(segment, o.Rate), restMerged = GroupMerge.MergedLength(rest, o.Rate);
        int softTokens = SegmentedCompression.SoftTokenCount(o.ContextTokens, segment, o.Rate);
        var (encoder, lsa) = Stacks(compressor);
        double encode = ModelFlops.TrunkLinear(encoder, o.ContextTokens)
            + ModelFlops.Attention(encoder, fullSegments, segment) + ModelFlops.Attention(encoder, 1, rest);
        double align = lsa is not null
            ? ModelFlops.TrunkLinear(lsa, softTokens) + ModelFlops.Attention(lsa, fullSegments, merged) + ModelFlops.Attention(lsa, 1, restMerged)
            : 0;
        double followUp = ModelFlops.Forward(decoder, 1, softTokens + o.Question.Count, 1);
        return (encode + align + followUp, followUp, ModelFlops.Forward(decoder, 1, fullTokens, 1));
    }

    /// <summary>The encoder's blocks, and the LSA blocks when the alignment is a transformer block (else null), as configs.</summary>
    static (ModelConfig Encoder, ModelConfig? Lsa) Stacks(ContextCompressor compressor)
    {
        var cc = compressor.Config;
        var lsa = cc.Alignment is AlignmentKind.Lsa or AlignmentKind.LsaRandom ? compressor.Backbone with { NumHiddenLayers = cc.AlignmentLayers } : null;
        return (compressor.Backbone with { NumHiddenLayers = cc.EncoderLayers }, lsa);
    }

    static void CompressAndAnswer(CausalLM decoder, ContextCompressor compressor, int[] context, CompressionBenchmarkOptions o, SamplingOptions sampling)
    {
        using var scope = NewDisposeScope();
        AnswerFromSoft(decoder, Compress(compressor, [context], o.Rate)[0], o.Question, sampling);
    }

    static IReadOnlyList<Tensor> Compress(ContextCompressor compressor, IReadOnlyList<IReadOnlyList<int>> contexts, int rate)
    {
        var soft = SegmentedCompression.Compress(compressor, contexts, contexts.Select(_ => rate).ToArray());
        EngineBenchmark.Synchronize(soft[0].device);
        return soft;
    }

    /// <summary>
    /// 2b. A follow-up as the service's scheduler runs it once a question has been asked on these soft tokens: their
    /// keys and values come from a <see cref="SoftPrefixCache"/> (what PrefillJob does), only the question is read.
    /// </summary>
    static TimeSpan FollowUpOverCachedPrefix(CausalLM decoder, Tensor soft, CompressionBenchmarkOptions o)
    {
        using var adapter = Lora.Use(decoder, Lora.DefaultAdapter);
        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        using var prefixes = new SoftPrefixCache(long.MaxValue);
        var embeds = soft.to(decoder.DType);                                                            // [n, D]
        long n = embeds.shape[0];
        string key = SoftPrefixCache.Key(Lora.DefaultAdapter, embeds);
        using (var read = new KvCache(decoder.Config.NumHiddenLayers, n))
        {
            decoder.forward(inputsEmbeds: embeds.unsqueeze(0), cache: read, lastTokenOnly: true);
            prefixes.Add(key, read, n);
        }
        var question = tensor(o.Question.Select(t => (long)t).ToArray(), [1, o.Question.Count], device: decoder.Device);
        return Time(o, () =>
        {
            using var step = NewDisposeScope();
            using var cache = new KvCache(decoder.Config.NumHiddenLayers, n + o.Question.Count + 1);
            if (!prefixes.TrySeed(key, cache)) throw new InvalidOperationException("the soft prefix was not cached");
            var logits = decoder.forward(question, cache: cache, lastTokenOnly: true).Logits;              // [1, 1, V]
            logits.argmax(-1).cpu().item<long>();                                                       // the first (greedy) token
        });
    }

    /// <summary>
    /// 3b. The same forced-length generation over cached soft tokens with the restate adapter folded into weights of its
    /// own (as served by default) against unfolded (three matmuls a projection, the memory-saving setting).
    /// </summary>
    static CompressionRow RestateDecode(CausalLM decoder, ContextCompressor compressor, int[] context, CompressionBenchmarkOptions o, SamplingOptions sampling)
    {
        using var scope = NewDisposeScope();
        var soft = Compress(compressor, [context], o.Rate)[0];
        void Restate() => AnswerFromSoft(decoder, soft, o.AutoencoderPrompt, sampling, CompressorFolder.RestateAdapterName);
        var unfolded = Time(o, Restate);
        Lora.MergeServedForInference(decoder);
        var folded = Time(o, Restate);
        return new($"{sampling.MaxNewTokens} restating tokens over cached soft tokens, restate adapter folded vs unfolded", "ms", Ms(folded), Ms(unfolded), "-",
            $"[{soft.shape[0]} soft ; {o.AutoencoderPrompt.Count} instruction] + {sampling.MaxNewTokens} tokens with the restate adapter: folded into " +
            "one weight per projection (FoldRestateAdapter, the default) against x W + (alpha/r) (x A) B");
    }

    /// <summary>[soft ; question] packed as GmsaModel packs it, generated with a decoder adapter on (the answer one by default).</summary>
    static void AnswerFromSoft(CausalLM decoder, Tensor soft, IReadOnlyList<int> question, SamplingOptions sampling, string adapter = Lora.DefaultAdapter)
    {
        using var active = Lora.Use(decoder, adapter);
        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        using var packed = SoftPromptBatch.Pack(decoder, [new SoftPromptRow(soft, question, [])], padLeft: true);
        CheckLength(TokenGenerator.GenerateFromEmbeddings(decoder, packed.Embeds, packed.Mask, sampling, padId: 0), sampling);
    }

    static void FullContext(CausalLM decoder, IReadOnlyList<int> prompt, SamplingOptions sampling) =>
        CheckLength(TokenGenerator.Generate(decoder, [prompt], sampling, padId: 0), sampling);

    static void CheckLength(GenerationResult result, SamplingOptions sampling)
    {
        int n = result.Sequences[0].Tokens.Count;
        if (n != sampling.MaxNewTokens) throw new InvalidOperationException($"generation stopped after {n} of {sampling.MaxNewTokens} tokens");
    }

    static int[] FullPrompt(CompressionBenchmarkOptions o, int[] context, int contextTokens) =>
        [.. o.BosId is { } bos ? [bos] : Array.Empty<int>(), .. context.AsSpan(0, contextTokens), .. o.Question];

    static string Bos(CompressionBenchmarkOptions o) => o.BosId is null ? "" : "BOS ; ";

    /// <summary>Seeded ids above the usual specials (0..2): timings do not depend on what the tokens say.</summary>
    static int[] Tokens(Random rng, int count, int vocab) => Enumerable.Range(0, count).Select(_ => rng.Next(3, vocab)).ToArray();

    static TimeSpan Time(CompressionBenchmarkOptions o, Action run) => Timing.Median(run, o.Repeats, warmup: 1);

    /// <summary>Two ways of doing one thing timed in turn: their ratio is the figure, and the machine drifts.</summary>
    static (TimeSpan Gmsa, TimeSpan Baseline) TimePair(CompressionBenchmarkOptions o, Action gmsa, Action baseline) =>
        Timing.MedianPair(gmsa, baseline, o.Repeats, warmup: 1);

    static double Ms(TimeSpan t) => t.TotalMilliseconds;

    static double Gflops(double flops, TimeSpan t) => flops / t.TotalSeconds / 1e9;
}
