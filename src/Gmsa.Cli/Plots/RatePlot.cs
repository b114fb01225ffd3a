using Gmsa.Engine.Evaluation;
using ScottPlot;

namespace Gmsa.Cli.Plots;

/// <summary>Quality against compression rate: one line per method, the rate axis in log2 (2x, 4x, ... 32x).</summary>
internal static class RatePlot
{
    public static void Render(IEnumerable<EvalRow> rows, string task, string metric, string pngPath)
    {
        var plot = new Plot();
        var byMethod = rows.Where(r => r.Task == task && r.Rate is not null && r.Metrics.ContainsKey(metric)).GroupBy(r => r.Method).ToList();
        if (byMethod.Count == 0) return;
        foreach (var method in byMethod)
        {
            var points = method.OrderBy(r => r.Rate).ToArray();
            var line = plot.Add.Scatter(points.Select(r => Math.Log2(r.Rate!.Value)).ToArray(), points.Select(r => r.Metrics[metric]).ToArray());
            line.LegendText = method.Key;
            line.MarkerSize = 7;
        }
        var ticks = byMethod.SelectMany(m => m.Select(r => r.Rate!.Value)).Distinct().Order().ToArray();
        plot.Axes.Bottom.SetTicks(ticks.Select(t => Math.Log2(t)).ToArray(), ticks.Select(t => $"{t}x").ToArray());
        plot.Axes.SetLimitsY(0, 1.05);
        plot.Title($"{task}: {metric} against compression rate");
        plot.XLabel("compression rate");
        plot.YLabel(metric);
        plot.ShowLegend(Alignment.UpperRight);
        plot.SavePng(pngPath, 900, 500);
    }
}
