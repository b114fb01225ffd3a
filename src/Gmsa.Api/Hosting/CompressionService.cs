using System.Security.Cryptography;
using System.Text;
using Gmsa.Api.Contracts;
using Gmsa.Api.Options;
using Gmsa.Engine.Compression;
using Gmsa.Engine.Serving;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.Options;

namespace Gmsa.Api.Hosting;

/// <summary>The batcher refused a context: every compression slot is taken.</summary>
public sealed class CompressionQueueFullException() : Exception("every compression slot is taken");

/// <summary>
/// Compress once, ask many: a context's soft tokens are cached under an id derived from the model, the compressor's and
/// model's weights, the rate and the context's text, so the same context is compressed once and later requests (or other
/// replicas, through the distributed layer) read it back by id. Misses go through the <see cref="CompressionBatcher"/>.
/// </summary>
public sealed class CompressionService(GmsaModel gmsa, CompressionBatcher batcher, HybridCache cache, ModelInfo model, IOptions<CompressionOptions> options)
{
    public GmsaModel Gmsa => gmsa;
    public CompressionBatcher Batcher => batcher;
    public int DefaultRate => gmsa.Config.Rates[0];
    public CompressionOptions Options => options.Value;

    /// <summary>
    /// The weights the soft tokens come from (the model folder's files and the compressor's tree), hashed once at start:
    /// a replica running other weights under the same names (a retrained compressor, say) never reads this one's entries.
    /// An operator's <see cref="CompressionOptions.WeightsVersion"/> replaces the hash.
    /// </summary>
    public string WeightsFingerprint { get; } = options.Value.WeightsVersion is { Length: > 0 } version
        ? "version:" + version
        : Engine.Checkpoints.WeightsFingerprint.Of((gmsa.Language.Directory, false), (gmsa.CompressorDirectory, true));

    /// <summary>"cmp-" and 32 hex digits of SHA-256 over model, weights, rate and text: equal inputs, equal ids, on every replica.</summary>
    public string IdFor(string context, int rate) => Hash($"{rate}\n{context}");

    /// <summary>
    /// The id of a context given as token ids. Its rate line carries " ids", which no text's key has (their rate line is
    /// digits only), so no text (such as "ids:5,6") can spell an ids context's key and be served its soft tokens.
    /// </summary>
    public string IdForIds(int[] ids, int rate) => Hash($"{rate} ids\n{string.Join(',', ids)}");

    /// <summary>Whether <paramref name="id"/> has the shape <see cref="IdFor"/> gives ("cmp-" and 32 lower-case hex digits).</summary>
    public static bool IsId(string? id) =>
        id is { Length: 36 } && id.StartsWith("cmp-", StringComparison.Ordinal) && id.AsSpan(4).IndexOfAnyExcept("0123456789abcdef") < 0;

    string Hash(string entry)
    {
        var key = $"{model.Id}\n{WeightsFingerprint}\n{entry}";
        return "cmp-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)))[..32];
    }

    /// <summary>
    /// Each context's tokens, or an error under <paramref name="field"/> for the first that is empty or longer than
    /// <see cref="CompressionOptions.MaxContextTokens"/>: refused by characters before tokenizing (as prompts are), then by
    /// tokens. The tokens go to <see cref="CompressAsync"/>, so a miss does not tokenize again.
    /// </summary>
    public IReadOnlyList<int>[] CheckContexts(string[] contexts, string field, Dictionary<string, string[]> errors)
    {
        if (TooMany(contexts.Length, field, errors)) return [];
        int limit = options.Value.MaxContextTokens;
        var tokenized = new IReadOnlyList<int>[contexts.Length];
        for (int i = 0; i < contexts.Length; i++)
        {
            string which = $"{(field == "documents" ? "document" : "context")} {i}";
            if (string.IsNullOrEmpty(contexts[i])) { errors[field] = [$"{which} is empty"]; return []; }
            if ((long)contexts[i].Length <= (long)limit * CompletionRequestValidator.MaxCharactersPerToken)
                tokenized[i] = gmsa.EncodeContext(contexts[i]);
            if (tokenized[i] is null || tokenized[i].Count > limit)
            {
                errors[field] = [$"{which} is longer than {limit} tokens ({CompressionOptions.Section}:MaxContextTokens)"];
                return [];
            }
        }
        return tokenized;
    }

    /// <summary>The same for contexts given as token ids (under <c>context_ids</c>): none empty, none too long, every id in the vocabulary.</summary>
    public void CheckIds(int[][] contexts, Dictionary<string, string[]> errors)
    {
        if (TooMany(contexts.Length, "context_ids", errors)) return;
        int limit = options.Value.MaxContextTokens, vocabulary = gmsa.Language.Tokenizer.VocabSize;
        for (int i = 0; i < contexts.Length; i++)
        {
            var ids = contexts[i];
            if (ids is null || ids.Length == 0) { errors["context_ids"] = [$"context {i} is empty"]; return; }
            if (ids.Length > limit) { errors["context_ids"] = [$"context {i} is longer than {limit} tokens ({CompressionOptions.Section}:MaxContextTokens)"]; return; }
            if (ids.FirstOrDefault(t => t < 0 || t >= vocabulary) is var bad && (bad < 0 || bad >= vocabulary))
            { errors["context_ids"] = [$"context {i} has token id {bad}, outside the vocabulary of {vocabulary}"]; return; }
        }
    }

    /// <summary>
    /// An error under <paramref name="field"/> when the /v1/compress answer for contexts of these token counts would pass
    /// <see cref="CompressionOptions.MaxResponseBytes"/>: refused before any encoder time is spent, with what would fit.
    /// </summary>
    /// <param name="promptRows">rows a vllm-prompt-embeds answer adds to every context (the embedded prompt)</param>
    public void CheckResponseSize(IEnumerable<int> contextTokens, int rate, string format, int promptRows, string field, Dictionary<string, string[]> errors)
    {
        if (rate < 1) return;    // refused on its own
        var decoder = gmsa.Language.Model;
        int hidden = decoder.Config.HiddenSize, segment = gmsa.Config.SegmentLength;
        long rows = contextTokens.Sum(n => (long)SegmentedCompression.SoftTokenCount(n, segment, rate) + promptRows);
        double perValue = SoftTokenFormats.BytesPerValue(format, decoder.DType == TorchSharp.torch.ScalarType.Float32 ? 4 : 2);
        long estimate = (long)(rows * hidden * perValue), limit = options.Value.MaxResponseBytes;
        if (estimate <= limit) return;
        errors[field] = [$"the answer would be about {Megabytes(estimate)} ({rows} soft-token rows x {hidden} values x ~{perValue:0.#} bytes in {format}); " +
                         $"this service answers at most {Megabytes(limit)} ({CompressionOptions.Section}:MaxResponseBytes): ask for " +
                         $"{(format == SoftTokenFormats.Base64Bfloat16 ? "" : "base64-bfloat16 (~2.7 bytes a value) or safetensors, ")}a higher rate, or fewer or shorter contexts per request"];
    }

    static string Megabytes(long bytes) => $"{bytes / 1e6:0.#} MB";

    /// <summary>
    /// More contexts than the batcher's queue holds could never be queued together: refused as the client's error, not
    /// answered 429, which a retry would meet again.
    /// </summary>
    bool TooMany(int count, string field, Dictionary<string, string[]> errors)
    {
        if (count <= options.Value.MaxQueuedContexts) return false;
        errors[field] = [$"{count} contexts in one request; this service takes at most {options.Value.MaxQueuedContexts} ({CompressionOptions.Section}:MaxQueuedContexts)"];
        return true;
    }

    /// <summary>
    /// A context's soft tokens, from the cache or compressed now (Cached says which): cached by its text, compressed from
    /// <paramref name="tokens"/>, its tokens as <see cref="CheckContexts"/> made them.
    /// </summary>
    /// <exception cref="CompressionQueueFullException">the batcher's queue is full</exception>
    public Task<(string Id, SoftTokenData Soft, bool Cached)> CompressAsync(string context, IReadOnlyList<int> tokens, int rate, CancellationToken cancellation) =>
        CompressCoreAsync(IdFor(context, rate), tokens, rate, cancellation);

    async Task<(string Id, SoftTokenData Soft, bool Cached)> CompressCoreAsync(string id, IReadOnlyList<int> ids, int rate, CancellationToken cancellation)
    {
        bool compressed = false;
        var soft = await cache.GetOrCreateAsync(id, async token =>
        {
            compressed = true;
            if (!batcher.TryEnqueue(ids, rate, token, out var result)) throw new CompressionQueueFullException();
            return await result;
        }, Entry(), cancellationToken: cancellation);
        return (id, soft, !compressed);
    }

    /// <summary>The same for a context given as token ids (cached under <see cref="IdForIds"/>).</summary>
    public Task<(string Id, SoftTokenData Soft, bool Cached)> CompressIdsAsync(int[] ids, int rate, CancellationToken cancellation) =>
        CompressCoreAsync(IdForIds(ids, rate), ids, rate, cancellation);

    /// <summary>Soft tokens cached under <paramref name="id"/>, or null when unknown or expired.</summary>
    public async Task<SoftTokenData?> FindAsync(string id, CancellationToken cancellation) =>
        await cache.GetOrCreateAsync<SoftTokenData?>(id, _ => ValueTask.FromResult<SoftTokenData?>(null),
            new HybridCacheEntryOptions { Flags = HybridCacheEntryFlags.DisableUnderlyingData }, cancellationToken: cancellation);

    HybridCacheEntryOptions Entry() => new()
    {
        Expiration = TimeSpan.FromSeconds(options.Value.CacheSeconds),
        LocalCacheExpiration = TimeSpan.FromSeconds(options.Value.CacheSeconds),
    };
}
