namespace Gmsa.Engine.Corpus;

/// <summary>Documents and words counted per source and split, for the data card and the command's report.</summary>
public sealed class CorpusStatistics
{
    readonly Dictionary<(string Source, CorpusSplit Split), Count> _counts = [];

    public readonly record struct Count(int Documents, long Words)
    {
        public Count Plus(Count other) => new(Documents + other.Documents, Words + other.Words);
    }

    public void Add(string source, CorpusSplit split, long words) =>
        _counts[(source, split)] = Get(source, split).Plus(new Count(1, words));

    public Count Get(string source, CorpusSplit split) => _counts.GetValueOrDefault((source, split));

    public Count Total(string source) => Sum(k => k.Source == source);

    public Count Total(CorpusSplit split) => Sum(k => k.Split == split);

    public Count Total() => Sum(_ => true);

    Count Sum(Func<(string Source, CorpusSplit Split), bool> where) =>
        _counts.Where(kv => where(kv.Key)).Aggregate(new Count(), (total, kv) => total.Plus(kv.Value));
}
