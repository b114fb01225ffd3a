using System.ComponentModel.DataAnnotations;

namespace Gmsa.Api.Options;

/// <summary>Who may call the API and how often, and how long a request may take (section <c>Gmsa:Access</c>).</summary>
public sealed class AccessOptions
{
    public const string Section = "Gmsa:Access";

    /// <summary>Accepted Bearer keys; empty leaves the API open. Health, metrics and Swagger never need a key.</summary>
    public string[] ApiKeys { get; set; } = [];

    /// <summary>Requests per minute per key (per client address without keys); 0 turns the limit off.</summary>
    [Range(0, 1_000_000)]
    public int RequestsPerMinute { get; set; }

    /// <summary>Seconds a request may wait and run before it ends with 504 and frees its slot; 0 turns deadlines off.</summary>
    [Range(0, 86_400)]
    public int RequestTimeoutSeconds { get; set; } = 300;
}
