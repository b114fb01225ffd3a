using System.Globalization;

namespace Gmsa.Engine.Training;

/// <summary>One row of metrics.csv: every optimizer step, with the validation loss on evaluation steps.</summary>
public sealed record MetricsRow(int Step, long Tokens, double LearningRate, double TrainLoss, double GradNorm,
    double TokensPerSecond, double ElapsedSeconds, double? ValidationLoss)
{
    public const string Header = "step,tokens,lr,train_loss,grad_norm,tokens_per_s,elapsed_s,val_loss";

    public string ToCsv() => string.Join(',',
        Step.ToString(CultureInfo.InvariantCulture), Tokens.ToString(CultureInfo.InvariantCulture),
        LearningRate.ToString("G6", CultureInfo.InvariantCulture), TrainLoss.ToString("R", CultureInfo.InvariantCulture),
        GradNorm.ToString("G6", CultureInfo.InvariantCulture), TokensPerSecond.ToString("F1", CultureInfo.InvariantCulture),
        ElapsedSeconds.ToString("F1", CultureInfo.InvariantCulture),
        ValidationLoss?.ToString("R", CultureInfo.InvariantCulture) ?? "");

    public static MetricsRow Parse(string line)
    {
        var f = line.Split(',');
        if (f.Length != 8) throw new InvalidDataException($"metrics row '{line}' does not have 8 fields");
        static double D(string s) => double.Parse(s, CultureInfo.InvariantCulture);
        return new MetricsRow(int.Parse(f[0], CultureInfo.InvariantCulture), long.Parse(f[1], CultureInfo.InvariantCulture),
            D(f[2]), D(f[3]), D(f[4]), D(f[5]), D(f[6]), f[7].Length == 0 ? null : D(f[7]));
    }
}

/// <summary>
/// The run's metrics.csv (the loss curves) and train.log. On resume both are cut back to the
/// checkpoint's step first, so rows of steps that are about to be redone never appear twice.
/// </summary>
public sealed class MetricsLog : IDisposable
{
    readonly StreamWriter csv;
    readonly StreamWriter log;

    public MetricsLog(string runDirectory, int resumeStep)
    {
        Directory.CreateDirectory(runDirectory);
        CsvPath = Path.Combine(runDirectory, "metrics.csv");
        var kept = File.Exists(CsvPath) && resumeStep > 0
            ? ReadRows(CsvPath).Where(r => r.Step < resumeStep).ToList()
            : [];
        File.WriteAllLines(CsvPath, kept.Select(r => r.ToCsv()).Prepend(MetricsRow.Header));
        csv = new StreamWriter(CsvPath, append: true);
        log = new StreamWriter(Path.Combine(runDirectory, "train.log"), append: resumeStep > 0);
    }

    public string CsvPath { get; }

    public static IReadOnlyList<MetricsRow> ReadRows(string path) =>
        File.ReadLines(path).Skip(1).Where(l => l.Length > 0).Select(MetricsRow.Parse).ToList();

    public void Add(MetricsRow row) => csv.WriteLine(row.ToCsv());

    public void Log(string line) => log.WriteLine($"{DateTime.UtcNow:yyyy-MM-ddTHH:mm:ssZ} {line}");

    public void Flush()
    {
        csv.Flush();
        log.Flush();
    }

    public void Dispose()
    {
        csv.Dispose();
        log.Dispose();
    }
}
