using Gmsa.Engine.Training;
using ScottPlot;

namespace Gmsa.Cli.Plots;

/// <summary>Renders a run's metrics.csv as loss curves: training loss (moving average) and validation loss, per step.</summary>
internal static class LossCurvePlot
{
    public static void Render(string metricsCsv, string pngPath, string title, int smoothing = 25)
    {
        var rows = MetricsLog.ReadRows(metricsCsv);
        if (rows.Count == 0) return;
        var plot = new Plot();
        double[] steps = rows.Select(r => (double)r.Step + 1).ToArray();
        var train = plot.Add.ScatterLine(steps, MovingAverage(rows.Select(r => r.TrainLoss).ToArray(), smoothing));
        train.LegendText = $"train (mean of {smoothing} steps)";
        var evaluated = rows.Where(r => r.ValidationLoss is not null).ToArray();
        if (evaluated.Length > 0)
        {
            var validation = plot.Add.Scatter(evaluated.Select(r => (double)r.Step + 1).ToArray(), evaluated.Select(r => r.ValidationLoss!.Value).ToArray());
            validation.LegendText = "validation";
            validation.MarkerSize = 7;
        }
        plot.Title(title);
        plot.XLabel("optimizer step");
        plot.YLabel("loss (nats per token)");
        plot.ShowLegend(Alignment.UpperRight); // losses fall to the lower right
        plot.SavePng(pngPath, 900, 500);
    }

    static double[] MovingAverage(double[] values, int window)
    {
        var result = new double[values.Length];
        double sum = 0;
        for (int i = 0; i < values.Length; i++)
        {
            sum += values[i];
            if (i >= window) sum -= values[i - window];
            result[i] = sum / Math.Min(i + 1, window);
        }
        return result;
    }
}
