using Microsoft.Extensions.Options;

namespace Gmsa.Api.Hosting;

public static class StartupFailure
{
    /// <summary>
    /// Runs the app; a configuration that fails validation at start-up (a missing model folder, an
    /// out-of-range setting) ends with one log line naming the setting, and exit code 1, not a stack trace.
    /// </summary>
    public static async Task<int> RunOrExplainAsync(this WebApplication app)
    {
        try
        {
            // The host would validate too, but would log a stack trace before this catch sees it.
            app.Services.GetRequiredService<IStartupValidator>().Validate();
            await app.RunAsync();
            return 0;
        }
        catch (OptionsValidationException e)
        {
            app.Logger.LogCritical("Gmsa cannot start: {Reason}", string.Join("; ", e.Failures));
            return 1;
        }
    }
}
