using Gmsa.Api.Contracts;
using Gmsa.Api.Options;
using Gmsa.Engine.Compression;
using Gmsa.Engine.Generation;
using Gmsa.Engine.Model;
using Gmsa.Engine.Serving;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using TorchSharp;

namespace Gmsa.Api.Hosting;

public static class ModelServices
{
    /// <summary>Model and serving options (checked at start-up), the model, its scheduler and the readiness check.</summary>
    public static WebApplicationBuilder AddGmsaModel(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<ModelOptions>()
            .BindConfiguration(ModelOptions.Section)
            .PostConfigure<IHostEnvironment>((o, env) => o.Path = ModelFolder.Resolve(o.Path, env.ContentRootPath))
            .ValidateSettings()
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<ModelOptions>, ModelFolderValidator>();
        services.AddOptions<ServingOptions>()
            .BindConfiguration(ServingOptions.Section)
            .ValidateSettings()
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<ServingOptions>, ServingOptionsValidator>();

        services.AddOptions<CompressionOptions>()
            .BindConfiguration(CompressionOptions.Section)
            .ValidateSettings()
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<CompressionOptions>, CompressionOptionsValidator>();

        services.AddSingleton(sp =>
        {
            var o = sp.GetRequiredService<IOptions<ModelOptions>>().Value;
            var loaded = LoadedModel.Load(o, sp.GetRequiredService<IOptions<CompressionOptions>>().Value,
                sp.GetRequiredService<IHostEnvironment>().ContentRootPath);
            if (o.Threads > 0)
            {
                loaded.Language.Runner.Run(() => { torch.set_num_threads(o.Threads); return true; }); // where the model's ops run
                Gmsa.Engine.Model.SmallBatchLinear.Threads = o.Threads;                              // and the CPU decode step's
            }
            return loaded;
        });
        services.AddSingleton(sp => sp.GetRequiredService<LoadedModel>().Language);
        // Redis as HybridCache's distributed level when configured: one compression serves every replica.
        if (builder.Configuration[$"{CompressionOptions.Section}:{nameof(CompressionOptions.Redis)}"] is { Length: > 0 } redis)
        {
            var level = new RedisLevel(redis);
            services.AddStackExchangeRedisCache(o => { o.ConnectionMultiplexerFactory = level.ConnectAsync; o.InstanceName = "gmsa:"; });
            services.AddHealthChecks().AddCheck("redis", level, tags: ["ready"]);
        }
        // The in-process level is the app's IMemoryCache, bounded in bytes: the serializer makes every entry's size its payload's.
        // Both bounds come from the bound and validated CompressionOptions.
        services.AddMemoryCache();
        services.AddOptions<MemoryCacheOptions>().Configure<IOptions<CompressionOptions>>((o, compression) =>
        {
            o.SizeLimit = compression.Value.CacheBytes;
            o.CompactionPercentage = compression.Value.CompactionShare;
            o.TrackStatistics = true;
        });
        services.AddHybridCache().AddSerializer<SoftTokenData, SoftTokenCacheSerializer>();
        services.AddOptions<HybridCacheOptions>().Configure<IOptions<CompressionOptions>>((o, compression) => o.MaximumPayloadBytes = compression.Value.MaxCachedBytes);
        services.AddSingleton(sp => new CompressionHost(sp.GetRequiredService<LoadedModel>().Gmsa is { } gmsa
            ? new CompressionService(gmsa, new CompressionBatcher(gmsa, sp.GetRequiredService<IOptions<CompressionOptions>>().Value.ToBatcher()),
                sp.GetRequiredService<HybridCache>(), sp.GetRequiredService<ModelInfo>(),
                sp.GetRequiredService<IOptions<CompressionOptions>>())
            : null));
        services.AddSingleton(sp => ModelInfo.Describe(sp.GetRequiredService<LanguageModel>()) with
        {
            CompressionRates = sp.GetRequiredService<LoadedModel>().Gmsa?.Config.Rates,
        });
        services.AddSingleton(sp => new GenerationScheduler(
            sp.GetRequiredService<LanguageModel>(), sp.GetRequiredService<IOptions<ServingOptions>>().Value.ToScheduler()));
        services.AddSingleton<CompletionRequestValidator>();

        services.AddSingleton<ModelHost>();
        services.AddHostedService(sp => sp.GetRequiredService<ModelHost>());
        services.AddHealthChecks()
            .AddCheck<ModelHost>("model", tags: ["ready"])
            .AddCheck("process", () => HealthCheckResult.Healthy(), tags: ["live"]);
        return builder;
    }
}
