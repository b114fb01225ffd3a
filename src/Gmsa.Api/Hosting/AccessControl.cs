using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Threading.RateLimiting;
using Gmsa.Api.Options;
using Microsoft.AspNetCore.Http.Timeouts;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace Gmsa.Api.Hosting;

/// <summary>
/// API keys (Bearer, compared in constant time), a per-key rate limit that answers 429 with Retry-After (ASP.NET's
/// limiter says 503 unless told), per-request deadlines, and draining on SIGTERM: requests in flight finish, new
/// ones get 503. Everything but /v1/* (health, metrics, Swagger) stays open.
/// </summary>
public static class AccessControl
{
    public const string Policy = "gmsa-keys";
    /// <summary>The rate limit's period: Gmsa:Access:RequestsPerMinute permits come back over it (see <see cref="Bucket"/>).</summary>
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(1);
    static bool IsApi(HttpContext context) => context.Request.Path.StartsWithSegments("/v1");

    public static WebApplicationBuilder AddGmsaAccessControl(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<AccessOptions>().BindConfiguration(AccessOptions.Section).ValidateSettings().ValidateOnStart();
        // Configured lazily from the bound options: settings a host adds after Program starts (tests, hosting layers) count.
        services.AddRateLimiter(_ => { });
        services.AddOptions<RateLimiterOptions>().Configure<IOptions<AccessOptions>>((o, options) =>
        {
            var access = options.Value;
            bool keyed = access.ApiKeys.Length > 0;
            o.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            o.OnRejected = async (context, cancellation) =>
            {
                var seconds = RetryAfterSeconds(context.Lease, Window);
                context.HttpContext.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
                await WriteProblemAsync(context.HttpContext, StatusCodes.Status429TooManyRequests,
                    $"rate limit reached: at most {access.RequestsPerMinute} requests a minute per {(Caller(context.HttpContext, keyed).StartsWith("key:", StringComparison.Ordinal) ? "API key" : "client address")} " +
                    $"({AccessOptions.Section}:RequestsPerMinute); retry after {seconds} s");
            };
            o.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(context =>
                access.RequestsPerMinute <= 0 || !IsApi(context)
                    ? RateLimitPartition.GetNoLimiter("open")
                    : RateLimitPartition.GetTokenBucketLimiter(Caller(context, keyed), _ => Bucket(access.RequestsPerMinute)));
        });
        services.AddRequestTimeouts(_ => { });
        services.AddOptions<RequestTimeoutOptions>().Configure<IOptions<AccessOptions>>((o, options) =>
        {
            var access = options.Value;
            if (access.RequestTimeoutSeconds <= 0) return;
            o.DefaultPolicy = new RequestTimeoutPolicy
            {
                Timeout = TimeSpan.FromSeconds(access.RequestTimeoutSeconds),
                WriteTimeoutResponse = context => WriteProblemAsync(context, StatusCodes.Status504GatewayTimeout,
                    $"the request took too long: it ran past {access.RequestTimeoutSeconds} s ({AccessOptions.Section}:RequestTimeoutSeconds) and was stopped; its slot is free"),
            };
        });
        services.AddSingleton<Draining>();
        services.AddHostedService<DrainOnShutdown>();
        // The drain window is spent inside the host's shutdown timeout: keep ASP.NET's 30 s for the requests in flight after it.
        // Read raw, as Kestrel's limit is: the host is built before start-up validation can report a bad value in one line.
        services.AddOptions<HostOptions>().Configure<IConfiguration>((host, configuration) =>
            host.ShutdownTimeout += TimeSpan.FromSeconds(
                int.TryParse(configuration[$"{AccessOptions.Section}:{nameof(AccessOptions.DrainSeconds)}"], out var drain) && drain is > 0 and <= 300
                    ? drain : new AccessOptions().DrainSeconds));
        return builder;
    }

    /// <summary>
    /// N requests a minute as a token bucket: N at once, then the permits come back in small portions, one every 60/N s
    /// (at least a second apart, several at a time above 60 a minute). A refusal's Retry-After is one portion's period, so
    /// it says at most 60/N s (or about a second), where a fixed window's refusal says the whole minute however little of
    /// it is left (ASP.NET's limiters report a period, not the time to its end).
    /// </summary>
    public static TokenBucketRateLimiterOptions Bucket(int requestsPerMinute)
    {
        int perPortion = Math.Max(1, (int)Math.Ceiling(requestsPerMinute / Window.TotalSeconds));
        return new TokenBucketRateLimiterOptions
        {
            TokenLimit = requestsPerMinute,
            TokensPerPeriod = perPortion,
            ReplenishmentPeriod = Window * perPortion / requestsPerMinute,
            QueueLimit = 0,
        };
    }

    /// <summary>Draining, then keys, then the rate limit, then deadlines: a refused request costs no model time.</summary>
    public static WebApplication UseGmsaAccessControl(this WebApplication app)
    {
        var draining = app.Services.GetRequiredService<Draining>();
        app.Lifetime.ApplicationStopping.Register(draining.Start);
        var keys = app.Services.GetRequiredService<IOptions<AccessOptions>>().Value.ApiKeys
            .Where(k => k.Length > 0).Select(k => SHA256.HashData(Encoding.UTF8.GetBytes(k))).ToArray();
        app.Use(async (context, next) =>
        {
            RequestDeadline.MarkStart(context);
            if (IsApi(context) && draining.Active)
            {
                context.Response.Headers.Connection = "close";
                await WriteProblemAsync(context, StatusCodes.Status503ServiceUnavailable,
                    "this instance is stopping: requests in flight finish, new ones go elsewhere");
                return;
            }
            if (IsApi(context) && keys.Length > 0 && !Authorized(context, keys))
            {
                context.Response.Headers.WWWAuthenticate = "Bearer";
                await WriteProblemAsync(context, StatusCodes.Status401Unauthorized,
                    "the API key is missing or unknown: send it as 'Authorization: Bearer <key>'");
                return;
            }
            await next(context);
        });
        app.UseRateLimiter();
        app.UseRequestTimeouts();
        return app;
    }

    /// <summary>Hashes make the comparison constant-time whatever the lengths; every key is compared, match or not.</summary>
    static bool Authorized(HttpContext context, byte[][] keys)
    {
        var header = context.Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) return false;
        var offered = SHA256.HashData(Encoding.UTF8.GetBytes(header["Bearer ".Length..].Trim()));
        bool found = false;
        foreach (var key in keys) found |= CryptographicOperations.FixedTimeEquals(offered, key);
        return found;
    }

    /// <summary>
    /// The rate-limit partition: with keys configured, the key itself as the key check reads it (scheme in any case, spaces
    /// trimmed), so rewriting the header cannot open a fresh bucket; without keys, the client address, whatever the header.
    /// </summary>
    static string Caller(HttpContext context, bool keyed)
    {
        var header = context.Request.Headers.Authorization.ToString();
        return keyed && header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
            ? "key:" + Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(header["Bearer ".Length..].Trim())))[..16]
            : "ip:" + (context.Connection.RemoteIpAddress?.ToString() ?? "unknown");
    }

    /// <summary>
    /// Seconds until a refused caller may retry: the limiter's own answer (its lease's RetryAfter, rounded up to whole
    /// seconds, at least 1) where it gives one, else the whole <paramref name="window"/>, after which any window has turned.
    /// </summary>
    public static int RetryAfterSeconds(RateLimitLease lease, TimeSpan window) =>
        Math.Max(1, (int)Math.Ceiling((lease.TryGetMetadata(MetadataName.RetryAfter, out var retry) ? retry : window).TotalSeconds));

    /// <summary>A problem body; its type and title are the status's (<see cref="ProblemTypes"/>), <paramref name="detail"/> says what happened.</summary>
    static Task WriteProblemAsync(HttpContext context, int status, string detail)
    {
        context.Response.StatusCode = status;
        var problems = context.RequestServices.GetRequiredService<IProblemDetailsService>();
        return problems.WriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = new ProblemDetails { Status = status, Detail = detail } }).AsTask();
    }
}
