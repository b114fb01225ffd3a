namespace Gmsa.Engine.Evaluation;

/// <summary>
/// A metric averaged over samples, as reports print it. The count travels with the mean so that a score over
/// three samples is not read as one over three thousand; no samples gives mean 0 with count 0 (not NaN, which
/// JSON cannot hold).
/// </summary>
public sealed record MetricSummary(double Mean, int Count)
{
    public static MetricSummary Of(IEnumerable<double> scores)
    {
        double sum = 0;
        int count = 0;
        foreach (var score in scores)
        {
            sum += score;
            count++;
        }
        return new(count == 0 ? 0 : sum / count, count);
    }

    /// <summary>Pass/fail samples (passkey found, exact match) as the share that passed.</summary>
    public static MetricSummary Of(IEnumerable<bool> passed) => Of(passed.Select(p => p ? 1.0 : 0.0));

    public static MetricSummary Of<T>(IEnumerable<T> samples, Func<T, double> metric) => Of(samples.Select(metric));
}
