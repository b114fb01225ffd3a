using System.Diagnostics;
using Gmsa.Engine.Compression;
using Gmsa.Engine.Generation;
using Gmsa.Engine.Text;

namespace Gmsa.Engine.Evaluation;

/// <summary>
/// GMSA's evaluation on one loaded model + compressor: reconstruction (BLEU-4 on whitespace words, ROUGE-L,
/// prefix match on token ids), question answering (SQuAD EM / F1, max over gold answers) and passkey retrieval
/// (accuracy by context length), each per rate, plus the reference rows of the same decoder reading the full
/// context or no context. Greedy decoding; every figure is measured here, in batches of <see cref="BatchSize"/>.
/// </summary>
public sealed class CompressionEvaluator(GmsaModel gmsa, string method)
{
    public int BatchSize { get; init; } = 8;
    /// <summary>Answer tokens at most (GMSA's code generates up to 100).</summary>
    public int MaxAnswerTokens { get; init; } = 32;
    public double RepetitionPenalty { get; init; } = 1.0;
    /// <summary>Every scored sample of every call, in order (what <c>gmsa eval --predictions</c> writes).</summary>
    public List<EvalPrediction> Predictions { get; } = [];

    static readonly int[] PasskeyLengths = [256, 512, 1024, 2048, 4096, 8192];

    /// <summary>Reconstruction's three scores of each restated text, and their means as a row's metrics.</summary>
    sealed class RestatementScores(TextTokenizer tokenizer)
    {
        readonly List<double> bleu = [], rouge = [], prefix = [];

        public int Count => bleu.Count;

        /// <summary>BLEU-4 and ROUGE-L on the texts (whitespace words), prefix match on the token ids.</summary>
        /// <returns>the reference text and this sample's three scores</returns>
        public (string Reference, Dictionary<string, double> Scores) Add(IReadOnlyList<int> reference, string hypothesis, IReadOnlyList<int> hypothesisTokens)
        {
            string text = tokenizer.Decode(reference);
            bleu.Add(Bleu.Words(text, hypothesis));
            rouge.Add(RougeL.F1(text, hypothesis));
            prefix.Add(PrefixMatch.Score(reference, hypothesisTokens));
            return (text, new() { ["bleu"] = bleu[^1], ["rouge_l"] = rouge[^1], ["prefix_match"] = prefix[^1] });
        }

        public Dictionary<string, double> Means() => new()
        {
            ["bleu"] = MetricSummary.Of(bleu).Mean, ["rouge_l"] = MetricSummary.Of(rouge).Mean, ["prefix_match"] = MetricSummary.Of(prefix).Mean,
        };
    }

    public async Task<EvalRow> ReconstructionAsync(IReadOnlyList<string> texts, int rate)
    {
        var scores = new RestatementScores(gmsa.Language.Tokenizer);
        double compressSeconds = 0;
        int index = 0;
        foreach (var batch in texts.Chunk(BatchSize))
        {
            var ids = batch.Select(gmsa.EncodeContext).ToArray();
            var clock = Stopwatch.StartNew();
            var soft = await gmsa.CompressAsync(ids, rate);
            compressSeconds += clock.Elapsed.TotalSeconds;
            try
            {
                var options = new SamplingOptions { MaxNewTokens = ids.Max(i => i.Count) + 8, RepetitionPenalty = RepetitionPenalty };
                var completion = await gmsa.ReconstructAsync(soft, options);
                for (int i = 0; i < batch.Length; i++, index++)
                {
                    var (reference, sample) = scores.Add(ids[i], completion.Texts[i], completion.Result.Sequences[i].Tokens);
                    Predictions.Add(new EvalPrediction(method, rate, "reconstruction", index, null, [reference], completion.Texts[i], sample));
                }
            }
            finally { foreach (var s in soft) s.Dispose(); }
        }
        var metrics = scores.Means();
        metrics["compress_ms"] = 1000 * compressSeconds / texts.Count;
        return new EvalRow(method, rate, "reconstruction", texts.Count, metrics);
    }

    /// <summary>
    /// Reconstruction's reference row: the same decoder reads the text itself, [BOS ; context ; its first
    /// <paramref name="cue"/> tokens again], and continues; the continuation is scored against the rest of the context.
    /// A decoder that copies what it has just read scores near 1 here: the ceiling for restating from soft tokens.
    /// </summary>
    public async Task<EvalRow> CopyFromFullContextAsync(IReadOnlyList<string> texts, int cue = 8)
    {
        var lm = gmsa.Language;
        var scores = new RestatementScores(lm.Tokenizer);
        int[] bos = lm.Tokenizer.BosId is { } id ? [id] : [];
        foreach (var batch in texts.Select((text, index) => (text, index)).Chunk(BatchSize))
        {
            var kept = batch.Select(t => (Ids: gmsa.EncodeContext(t.text), t.index)).Where(t => t.Ids.Count > cue).ToArray();
            var ids = kept.Select(t => t.Ids).ToArray();
            if (ids.Length == 0) continue;
            var prompts = ids.Select(i => (IReadOnlyList<int>)[.. bos, .. i, .. i.Take(cue)]).ToArray();
            var options = new SamplingOptions { MaxNewTokens = ids.Max(i => i.Count) - cue + 8, RepetitionPenalty = RepetitionPenalty };
            var completion = await lm.CompleteAsync(prompts, options);
            for (int i = 0; i < ids.Length; i++)
            {
                var (reference, sample) = scores.Add(ids[i].Skip(cue).ToArray(), completion.Texts[i], completion.Result.Sequences[i].Tokens);
                Predictions.Add(new EvalPrediction("full-context", null, "reconstruction", kept[i].index, null, [reference], completion.Texts[i], sample));
            }
        }
        return new EvalRow("full-context", null, "reconstruction", scores.Count, scores.Means());
    }

    /// <summary>QA from soft tokens at <paramref name="rate"/>; null rate = the same decoder reading the full context as text.</summary>
    public async Task<EvalRow> QuestionsAsync(IReadOnlyList<QaItem> items, int? rate, string task = "qa", bool closedBook = false)
    {
        var answers = await AnswerAllAsync(items, rate, closedBook);
        var em = items.Select((q, i) => SquadMetrics.ExactMatch(q.Answers, answers[i].Text)).ToArray();
        var f1 = items.Select((q, i) => SquadMetrics.F1(q.Answers, answers[i].Text)).ToArray();
        string name = closedBook ? "closed-book" : rate is null ? "full-context" : method;
        for (int i = 0; i < items.Count; i++)
            Predictions.Add(new EvalPrediction(name, rate, task, i, items[i].Prompt, items[i].Answers, answers[i].Text,
                new Dictionary<string, double> { ["em"] = em[i], ["f1"] = f1[i] }));
        return new EvalRow(name, rate, task, items.Count, new Dictionary<string, double>
        {
            ["em"] = MetricSummary.Of(em).Mean, ["f1"] = MetricSummary.Of(f1).Mean,
            ["first_token_ms"] = answers.Average(a => a.FirstTokenMs),
        });
    }

    /// <summary>
    /// Passkey accuracy per context length (items bucketed to the nearest of 256 .. 8192 tokens). An item whose input
    /// (soft tokens, or the text read in full) does not fit the decoder's window with its prompt and answer cannot be
    /// answered at all: it is scored wrong, not skipped, and <c>fits</c> says what share did fit.
    /// </summary>
    public async Task<IReadOnlyList<EvalRow>> PasskeyAsync(IReadOnlyList<QaItem> items, int? rate)
    {
        var rows = new List<EvalRow>();
        int window = gmsa.Language.Model.Config.ContextLength, segment = gmsa.Config.SegmentLength;
        bool Fits(QaItem q)
        {
            int tokens = gmsa.EncodeContext(q.Input).Count;
            int read = rate is { } r
                ? Enumerable.Range(0, (tokens + segment - 1) / segment).Sum(s => (Math.Min(segment, tokens - s * segment) + r - 1) / r)
                : tokens + 1; // BOS
            return read + gmsa.EncodePrompt(q.Prompt).Count + MaxAnswerTokens <= window;
        }
        string name = rate is null ? "full-context" : method;
        var indexed = items.Select((q, index) => (q, index));
        foreach (var bucket in indexed.GroupBy(t => Nearest(gmsa.EncodeContext(t.q.Input).Count)).OrderBy(g => g.Key))
        {
            var list = bucket.ToList();
            var fitting = list.Where(t => Fits(t.q)).ToList();
            var answers = fitting.Count > 0 ? await AnswerAllAsync(fitting.Select(t => t.q).ToArray(), rate, closedBook: false) : [];
            var said = fitting.Select((t, i) => (t.index, answers[i].Text)).ToDictionary(a => a.index, a => a.Text);
            int correct = 0;
            foreach (var (q, index) in list)
            {
                bool fits = said.TryGetValue(index, out var text), found = fits && PasskeyMatch.Contains(q.Answers[0], text!);
                correct += found ? 1 : 0;
                Predictions.Add(new EvalPrediction(name, rate, "passkey", index, q.Prompt, q.Answers, text ?? "",
                    new Dictionary<string, double> { ["correct"] = found ? 1 : 0, ["fits"] = fits ? 1 : 0 }, bucket.Key));
            }
            rows.Add(new EvalRow(name, rate, "passkey", list.Count, new Dictionary<string, double>
            {
                ["accuracy"] = (double)correct / list.Count, ["fits"] = (double)fitting.Count / list.Count,
            }, bucket.Key));
        }
        return rows;
    }

    static int Nearest(int tokens) => PasskeyLengths.MinBy(l => Math.Abs(l - tokens));

    sealed record Answer(string Text, double FirstTokenMs);

    async Task<IReadOnlyList<Answer>> AnswerAllAsync(IReadOnlyList<QaItem> items, int? rate, bool closedBook)
    {
        var options = new SamplingOptions { MaxNewTokens = MaxAnswerTokens, RepetitionPenalty = RepetitionPenalty };
        var answers = new List<Answer>();
        foreach (var batch in items.Chunk(BatchSize))
        {
            var prompts = batch.Select(q => gmsa.EncodePrompt(q.Prompt)).ToArray();
            var clock = Stopwatch.StartNew();
            TextCompletion completion;
            if (rate is { } r)
            {
                var soft = await gmsa.CompressAsync(batch.Select(q => gmsa.EncodeContext(q.Input)).ToArray(), r);
                try { completion = await gmsa.GenerateAsync(soft, prompts, options); }
                finally { foreach (var s in soft) s.Dispose(); }
            }
            else
            {
                var lm = gmsa.Language;
                var full = batch.Select((q, i) => (IReadOnlyList<int>)[.. lm.Encode(closedBook ? "" : q.Input), .. prompts[i]]).ToArray();
                completion = await lm.CompleteAsync(full, options);
            }
            // Time to the first answer token of the batch: compression (when any) plus prefill.
            double firstToken = (clock.Elapsed - completion.Result.Decode).TotalMilliseconds;
            answers.AddRange(completion.Texts.Select(t => new Answer(t.Trim(), firstToken)));
        }
        return answers;
    }
}
