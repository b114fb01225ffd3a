namespace Gmsa.Cli.Commands;

/// <summary>Turns any failure of a command into one line on stderr and a non-zero exit code, never a stack trace.</summary>
internal static class CommandGuard
{
    public static int Run(Func<int> action)
    {
        try
        {
            return action();
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("gmsa: cancelled");
            return 130;
        }
        catch (Exception e)
        {
            var inner = e is AggregateException { InnerExceptions.Count: 1 } a ? a.InnerExceptions[0] : e;
            Console.Error.WriteLine($"gmsa: error: {inner.Message.ReplaceLineEndings(" ")}");
            return 1;
        }
    }
}
