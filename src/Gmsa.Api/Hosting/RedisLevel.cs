using StackExchange.Redis;

namespace Gmsa.Api.Hosting;

/// <summary>
/// How the cache's Redis level connects. Redis is a second level, never required: while it is unreachable a lookup must
/// fail at once and the request go on with the in-process level and the encoder. With the client's defaults every miss
/// waited for a connection first (5 s in its backlog, up to 76 s measured with Redis down), so one Redis outage made
/// every new context that slow.
/// </summary>
public static class RedisLevel
{
    public static ConfigurationOptions Options(string connection)
    {
        var options = ConfigurationOptions.Parse(connection);
        options.AbortOnConnectFail = false;                 // connect in the background and keep retrying; start-up does not wait
        options.BacklogPolicy = BacklogPolicy.FailFast;     // no connection: a command fails now instead of queueing
        if (!connection.Contains("connectTimeout", StringComparison.OrdinalIgnoreCase)) options.ConnectTimeout = 2000;
        if (!connection.Contains("asyncTimeout", StringComparison.OrdinalIgnoreCase)) options.AsyncTimeout = 2000;
        return options;
    }
}
