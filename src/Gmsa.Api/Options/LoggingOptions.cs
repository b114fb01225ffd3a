namespace Gmsa.Api.Options;

/// <summary>How the service logs (section <c>Gmsa:Logging</c>); the levels themselves are Serilog's own section.</summary>
public sealed class LoggingOptions
{
    public const string Section = "Gmsa:Logging";

    /// <summary>One JSON object a line (Serilog's compact format) instead of text: for log collectors.</summary>
    public bool Json { get; set; }
}
