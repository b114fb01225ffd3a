using System.ComponentModel.DataAnnotations;

namespace Gmsa.Api.Options;

/// <summary>Who may call the API and how often, and how long a request may take (section <c>Gmsa:Access</c>).</summary>
public sealed class AccessOptions
{
    public const string Section = "Gmsa:Access";

    /// <summary>Accepted Bearer keys; empty leaves the API open. Health, metrics and Swagger never need a key.</summary>
    [BlankApiKeyRefused]
    public string[] ApiKeys { get; set; } = [];

    /// <summary>Requests per minute per key (per client address without keys); 0 turns the limit off.</summary>
    [Range(0, 1_000_000)]
    public int RequestsPerMinute { get; set; }

    /// <summary>Seconds a request may wait and run before it ends with 504 and frees its slot; 0 turns deadlines off.</summary>
    [Range(0, 86_400)]
    public int RequestTimeoutSeconds { get; set; } = 300;

    /// <summary>
    /// Seconds the service keeps answering after SIGTERM, every new /v1 request with 503 and /health/ready with 503, before
    /// the listener closes: time for a load balancer to stop sending. 0 closes it at once (new connections refused).
    /// </summary>
    [Range(0, 300)]
    public int DrainSeconds { get; set; } = 5;
}

/// <summary>A blank key (an unset environment variable) would have left the API open without a word: refused at start-up.</summary>
public sealed class BlankApiKeyRefusedAttribute : ValidationAttribute
{
    protected override ValidationResult? IsValid(object? value, ValidationContext context) =>
        value is string[] keys && Array.FindIndex(keys, string.IsNullOrWhiteSpace) is var i and >= 0
            ? new ValidationResult($"{AccessOptions.Section}:ApiKeys:{i} is empty: set the key, or remove the entry to leave the API open")
            : ValidationResult.Success;
}
