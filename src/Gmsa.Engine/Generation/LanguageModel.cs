using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Gmsa.Engine.Checkpoints;
using Gmsa.Engine.Model;
using Gmsa.Engine.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace Gmsa.Engine.Generation;

/// <summary>A completed batch: each prompt's continuation text (prompt excluded), with the token-level result behind it.</summary>
public sealed record TextCompletion(IReadOnlyList<string> Texts, GenerationResult Result);

/// <summary>
/// A loaded model folder (weights, tokenizer, generation defaults) bound to the thread that owns it.
/// Text in, text out, for the CLI and the HTTP service alike; every tensor operation runs on
/// <see cref="Runner"/>, so callers may be on any thread and may await freely.
/// </summary>
public sealed class LanguageModel : IDisposable
{
    LanguageModel(string directory, CausalLM model, TextTokenizer tokenizer, GenerationConfig generation, ModelRunner runner)
    {
        Chat = ChatTemplate.Detect(directory, tokenizer);
        Directory = directory;
        Model = model;
        Tokenizer = tokenizer;
        Generation = generation;
        Runner = runner;
    }

    public string Directory { get; }
    public CausalLM Model { get; }
    public TextTokenizer Tokenizer { get; }
    public GenerationConfig Generation { get; }
    public ModelRunner Runner { get; }
    /// <summary>The family's chat format, detected from the folder (Plain for base models).</summary>
    public ChatTemplate Chat { get; }

    public static LanguageModel Load(string directory, Device? device = null, ScalarType? dtype = null)
    {
        if (!System.IO.Directory.Exists(directory))
            throw new DirectoryNotFoundException($"model folder '{directory}' does not exist");
        var tokenizer = TextTokenizer.Load(directory);
        var runner = new ModelRunner($"gmsa-model:{Path.GetFileName(Path.GetFullPath(directory).TrimEnd('/'))}");
        try
        {
            var model = runner.Run(() => PretrainedModel.Load(directory, dtype, device));
            return new LanguageModel(directory, model, tokenizer, GenerationConfig.Load(directory, model.Config), runner);
        }
        catch
        {
            runner.Dispose();
            throw;
        }
    }

    /// <summary>Encodes a prompt as the model expects raw text: BOS first when the tokenizer adds one.</summary>
    public IReadOnlyList<int> Encode(string prompt) => Tokenizer.Encode(prompt, addBos: true);

    /// <summary>Renders messages with the model's chat template and ends with the assistant's turn.</summary>
    public IReadOnlyList<int> EncodeChat(IReadOnlyList<ChatMessage> messages) => Chat.Encode(Tokenizer, messages);

    /// <summary>The caller's stop ids plus the model's end-of-sequence ids, sampling kept inside the tokenizer's ids.</summary>
    public SamplingOptions WithModelStops(SamplingOptions options)
    {
        var stops = options.StopTokenIds.Concat(Generation.EosTokenIds);
        if (Tokenizer.EosId is { } eos) stops = stops.Append(eos);
        if (Chat.Format == ChatFormat.ChatML && Tokenizer.TokenId("<|im_end|>") is { } imEnd) stops = stops.Append(imEnd);
        if (Chat.Format == ChatFormat.Llama3 && Tokenizer.TokenId("<|eot_id|>") is { } eot) stops = stops.Append(eot);
        int? limit = Tokenizer.VocabSize < Model.Config.VocabSize ? Tokenizer.VocabSize : null;
        return options with { StopTokenIds = stops.Distinct().ToArray(), VocabLimit = options.VocabLimit ?? limit };
    }

    public int PadId => Generation.PadTokenId ?? Tokenizer.PadId ?? Tokenizer.EosId ?? 0;

    /// <summary>Generates for a batch of token prompts; <paramref name="onText"/> receives (row, new text) as tokens arrive.</summary>
    public Task<TextCompletion> CompleteAsync(IReadOnlyList<IReadOnlyList<int>> prompts, SamplingOptions options,
        Action<int, string>? onText = null, CancellationToken cancellation = default)
    {
        var sampling = WithModelStops(options);
        sampling.Validate();
        foreach (var p in prompts)
            if ((long)p.Count + sampling.MaxNewTokens > Model.Config.ContextLength)   // long: a huge max would wrap negative and pass
                throw new ArgumentException($"prompt of {p.Count} tokens + {sampling.MaxNewTokens} new tokens exceeds the model's context of {Model.Config.ContextLength}");
        return Runner.RunAsync(() => DecodeText(prompts, onText, onToken => TokenGenerator.Generate(Model, prompts, sampling, PadId, onToken, cancellation)),
            cancellation);
    }

    /// <summary>
    /// Runs a generation on the model thread and turns each row's tokens into text as they arrive. Each row's
    /// decoder first reads <paramref name="textBefore"/> (its prompt ids), so the continuation's first piece keeps
    /// its leading space and a character split across the prompt boundary comes out whole.
    /// </summary>
    internal TextCompletion DecodeText(IReadOnlyList<IReadOnlyList<int>> textBefore, Action<int, string>? onText,
        Func<Action<int, int>, GenerationResult> generate)
    {
        var decoders = textBefore.Select(p =>
        {
            var d = Tokenizer.CreateStreamDecoder();
            foreach (var id in p) d.Push(id);
            return d;
        }).ToArray();
        var texts = textBefore.Select(_ => new System.Text.StringBuilder()).ToArray();
        void OnToken(int row, int id)
        {
            var piece = decoders[row].Push(id);
            if (piece.Length == 0) return;
            texts[row].Append(piece);
            onText?.Invoke(row, piece);
        }
        var result = generate(OnToken);
        for (int row = 0; row < texts.Length; row++)
        {
            var tail = decoders[row].Flush();
            texts[row].Append(tail);
            if (tail.Length > 0) onText?.Invoke(row, tail);
        }
        return new TextCompletion(texts.Select(t => t.ToString()).ToArray(), result);
    }

    public Task<TextCompletion> CompleteAsync(IReadOnlyList<string> prompts, SamplingOptions options,
        Action<int, string>? onText = null, CancellationToken cancellation = default) =>
        CompleteAsync(prompts.Select(Encode).ToArray(), options, onText, cancellation);

    /// <summary>Streams the text of one prompt's continuation as it is produced.</summary>
    public async IAsyncEnumerable<string> StreamAsync(string prompt, SamplingOptions options,
        [EnumeratorCancellation] CancellationToken cancellation = default)
    {
        var channel = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var generation = CompleteAsync([Encode(prompt)], options, (_, text) => channel.Writer.TryWrite(text), cancellation);
        _ = generation.ContinueWith(t => channel.Writer.TryComplete(t.Exception?.InnerException), TaskScheduler.Default);
        await foreach (var piece in channel.Reader.ReadAllAsync(cancellation))
            yield return piece;
        await generation;
    }

    /// <summary>True once disposed (a host may hold the model through two registrations and dispose both).</summary>
    public bool IsDisposed => Volatile.Read(ref disposed) != 0;
    int disposed;

    public void Dispose()
    {
        if (Interlocked.Exchange(ref disposed, 1) != 0) return;
        Runner.Run(() => { Model.Dispose(); return true; });
        Runner.Dispose();
    }
}
