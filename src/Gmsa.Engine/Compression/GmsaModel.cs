using System.Diagnostics;
using Gmsa.Engine.Generation;
using Gmsa.Engine.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace Gmsa.Engine.Compression;

/// <summary>A batch of answers over soft tokens, with the time the compressor took when this call compressed.</summary>
public sealed record CompressedCompletion(TextCompletion Completion, TimeSpan Compression);

/// <summary>
/// A base model folder with its trained compressor (by default the folder's <c>compressor/</c>): contexts in,
/// soft tokens out; questions over soft tokens in, answers out. All tensor work runs on the base model's
/// thread. Decoder adapters that came with the compressor are switched on only while the decoder reads soft
/// tokens, so the same loaded base still serves plain completions unchanged; a compressor with a restate adapter
/// answers with one adapter and restates (reconstruction) with the other.
/// </summary>
public sealed class GmsaModel : IDisposable
{
    public const string DefaultCompressorFolder = "compressor";

    GmsaModel(LanguageModel language, ContextCompressor compressor, string compressorDirectory)
    {
        Language = language;
        Compressor = compressor;
        CompressorDirectory = compressorDirectory;
        AnswerAdapter = Lora.AdapterParameters(language.Model).Any() ? Lora.DefaultAdapter : null;
        RestateAdapter = Lora.HasServedAdapter(language.Model, CompressorFolder.RestateAdapterName) ? CompressorFolder.RestateAdapterName : AnswerAdapter;
    }

    public LanguageModel Language { get; }
    public ContextCompressor Compressor { get; }
    public string CompressorDirectory { get; }
    public CompressorConfig Config => Compressor.Config;
    CausalLM Decoder => Language.Model;

    /// <param name="foldRestateAdapter">
    /// fold the restate adapter, when the compressor has one, into weights of its own as the answer adapter is: restating
    /// decodes as fast as answering, for one more copy of the decoder blocks' projection weights; false keeps it unfolded
    /// </param>
    public static GmsaModel Load(string modelDirectory, string? compressorDirectory = null, Device? device = null, ScalarType? dtype = null,
        bool foldRestateAdapter = true)
    {
        compressorDirectory ??= Path.Combine(modelDirectory, DefaultCompressorFolder);
        if (!CompressorFolder.Exists(compressorDirectory))
            throw new DirectoryNotFoundException($"no compressor in '{compressorDirectory}' ({CompressorConfig.FileName} is missing): train one with `gmsa train ae` or point to its folder");
        var language = LanguageModel.Load(modelDirectory, device, dtype);
        try
        {
            var compressor = language.Runner.Run(() =>
            {
                var c = CompressorFolder.Load(compressorDirectory, language.Model);
                Lora.MergeForInference(language.Model); // serving only: the weights are final
                if (foldRestateAdapter) Lora.MergeServedForInference(language.Model);
                Lora.MergeForInference(c);              // the encoder's rank-128 adapters too: one matmul a projection instead of three
                Lora.SetActive(language.Model, false);
                return c;
            });
            return new GmsaModel(language, compressor, compressorDirectory);
        }
        catch
        {
            language.Dispose();
            throw;
        }
    }

    /// <summary>Context text as the compressor reads it: no BOS (a context is never the start of the decoder's input).</summary>
    public IReadOnlyList<int> EncodeContext(string text) => Language.Tokenizer.Encode(text, addBos: false);

    /// <summary>A prompt read after soft tokens; no BOS either.</summary>
    public IReadOnlyList<int> EncodePrompt(string text) => Language.Tokenizer.Encode(text, addBos: false);

    public void CheckRate(int rate)
    {
        if (rate < 1) throw new ArgumentException($"rate must be >= 1, got {rate}");
    }

    /// <summary>Compresses contexts (any length; segments go through the encoder in length-sorted batches).</summary>
    public Task<IReadOnlyList<SoftTokens>> CompressAsync(IReadOnlyList<IReadOnlyList<int>> contexts, int rate, CancellationToken cancellation = default)
    {
        CheckRate(rate);
        if (contexts.Count == 0) throw new ArgumentException("no contexts to compress");
        if (contexts.Any(c => c.Count == 0)) throw new ArgumentException("a context is empty");
        return Language.Runner.RunAsync(() => Compress(contexts, rate), cancellation);
    }

    IReadOnlyList<SoftTokens> Compress(IReadOnlyList<IReadOnlyList<int>> contexts, int rate)
    {
        var soft = SegmentedCompression.Compress(Compressor, contexts, contexts.Select(_ => rate).ToArray());
        foreach (var s in soft) s.DetachFromDisposeScope();
        return soft.Select((s, i) => new SoftTokens(s, contexts[i].Count, rate)).ToArray();
    }

    /// <summary>
    /// Compresses contexts, each at its own rate, in one batched encoder call (segments length-sorted), and returns the
    /// soft tokens as bytes: what a service batches requests through and caches.
    /// </summary>
    public Task<IReadOnlyList<SoftTokenData>> CompressToDataAsync(IReadOnlyList<IReadOnlyList<int>> contexts, IReadOnlyList<int> rates,
        CancellationToken cancellation = default)
    {
        if (contexts.Count == 0 || contexts.Count != rates.Count) throw new ArgumentException("need one rate per context, and at least one context");
        foreach (var rate in rates) CheckRate(rate);
        if (contexts.Any(c => c.Count == 0)) throw new ArgumentException("a context is empty");
        return Language.Runner.RunAsync(() =>
        {
            using var scope = NewDisposeScope();
            var soft = SegmentedCompression.Compress(Compressor, contexts, rates);
            return (IReadOnlyList<SoftTokenData>)soft.Select((s, i) => SoftTokenData.From(s, contexts[i].Count, rates[i])).ToArray();
        }, cancellation);
    }

    /// <summary>Whether the decoder reads soft tokens with adapters of its own (then they are on for answers only).</summary>
    public bool HasDecoderAdapters => AnswerAdapter is not null;

    /// <summary>The decoder adapter answers over soft tokens are generated with (<see cref="Lora.Activate"/>); null: the base alone.</summary>
    public string? AnswerAdapter { get; }

    /// <summary>The decoder adapter that restates a compressed context: the compressor's restate adapter, else the answer one.</summary>
    public string? RestateAdapter { get; }

    /// <summary>Whether restating uses an adapter of its own (<c>restate_adapter/</c>), apart from answers.</summary>
    public bool HasRestateAdapter => RestateAdapter != AnswerAdapter;

    /// <summary>
    /// Generates after each row's [soft tokens ; prompt] (left-padded batch). Soft tokens can come from earlier
    /// calls (compress once, ask many).
    /// </summary>
    public Task<TextCompletion> GenerateAsync(IReadOnlyList<SoftTokens> contexts, IReadOnlyList<IReadOnlyList<int>> prompts,
        SamplingOptions options, Action<int, string>? onText = null, CancellationToken cancellation = default) =>
        GenerateAsync(contexts, prompts, options, AnswerAdapter, onText, cancellation);

    Task<TextCompletion> GenerateAsync(IReadOnlyList<SoftTokens> contexts, IReadOnlyList<IReadOnlyList<int>> prompts,
        SamplingOptions options, string? adapter, Action<int, string>? onText, CancellationToken cancellation)
    {
        if (contexts.Count != prompts.Count) throw new ArgumentException($"need one prompt per context ({contexts.Count}), got {prompts.Count}");
        var sampling = Language.WithModelStops(options);
        sampling.Validate();
        for (int i = 0; i < contexts.Count; i++)
            if ((long)contexts[i].Count + prompts[i].Count + sampling.MaxNewTokens > Decoder.Config.ContextLength)   // long: no wrap past int
                throw new ArgumentException($"{contexts[i].Count} soft tokens + {prompts[i].Count} prompt tokens + {sampling.MaxNewTokens} new tokens exceed the model's context of {Decoder.Config.ContextLength}; compress at a higher rate or ask for fewer tokens");
        return Language.Runner.RunAsync(() => Generate(contexts, prompts, sampling, adapter, onText, cancellation), cancellation);
    }

    TextCompletion Generate(IReadOnlyList<SoftTokens> contexts, IReadOnlyList<IReadOnlyList<int>> prompts, SamplingOptions sampling,
        string? adapter, Action<int, string>? onText, CancellationToken cancellation)
    {
        using var active = Lora.Use(Decoder, adapter);
        using var scope = NewDisposeScope();
        using var noGrad = inference_mode();
        var rows = contexts.Select((c, i) => new SoftPromptRow(c.Embeddings, prompts[i], [])).ToArray();
        using var packed = SoftPromptBatch.Pack(Decoder, rows, padLeft: true);
        return Language.DecodeText(prompts, onText, onToken =>
            TokenGenerator.GenerateFromEmbeddings(Decoder, packed.Embeds, packed.Mask, sampling, Language.PadId, onToken, cancellation));
    }

    /// <summary>Answers questions about contexts given as text: compress (timed) then generate, in one model-thread job each.</summary>
    public async Task<CompressedCompletion> AnswerAsync(IReadOnlyList<string> contexts, IReadOnlyList<string> prompts, int rate,
        SamplingOptions options, CancellationToken cancellation = default)
    {
        var clock = Stopwatch.StartNew();
        var soft = await CompressAsync(contexts.Select(EncodeContext).ToArray(), rate, cancellation);
        var compression = clock.Elapsed;
        try
        {
            var completion = await GenerateAsync(soft, prompts.Select(EncodePrompt).ToArray(), options, cancellation: cancellation);
            return new CompressedCompletion(completion, compression);
        }
        finally
        {
            await Language.Runner.RunAsync(() => { foreach (var s in soft) s.Dispose(); });
        }
    }

    /// <summary>The decoder's restatement of each compressed context (stage 1's instruction as prompt, the restate adapter on).</summary>
    public Task<TextCompletion> ReconstructAsync(IReadOnlyList<SoftTokens> contexts, SamplingOptions options, CancellationToken cancellation = default)
    {
        var prompt = EncodePrompt(Config.AutoencoderPrompt);
        return GenerateAsync(contexts, contexts.Select(_ => prompt).ToArray(), options, RestateAdapter, null, cancellation);
    }

    public void Dispose()
    {
        // The language model may have gone first (a host that registered it apart); its thread is gone then.
        if (Language.IsDisposed) Compressor.Dispose();
        else Language.Runner.Run(() => { Compressor.Dispose(); return true; });
        Language.Dispose();
    }
}
