using System.Collections.Concurrent;

namespace Gmsa.Engine.Generation;

/// <summary>
/// The thread that owns a model. TorchSharp dispose scopes, no_grad and inference mode are
/// thread-local, so all tensor work of one model is queued here and runs in order; callers
/// await the result and never hold a scope across an await.
/// </summary>
public sealed class ModelRunner : IDisposable
{
    readonly BlockingCollection<Action> work = new();
    readonly Thread thread;

    public ModelRunner(string name = "gmsa-model")
    {
        thread = new Thread(() => { foreach (var item in work.GetConsumingEnumerable()) item(); })
        {
            IsBackground = true,
            Name = name,
        };
        thread.Start();
    }

    public bool IsModelThread => Thread.CurrentThread == thread;

    public Task<T> RunAsync<T>(Func<T> job, CancellationToken cancellation = default)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        work.Add(() =>
        {
            if (cancellation.IsCancellationRequested) { done.TrySetCanceled(cancellation); return; }
            try { done.TrySetResult(job()); }
            catch (Exception e) { done.TrySetException(e); }
        }, CancellationToken.None);
        return done.Task;
    }

    public Task RunAsync(Action job, CancellationToken cancellation = default) =>
        RunAsync(() => { job(); return true; }, cancellation);

    /// <summary>Runs the job here when already on the model thread, else queues it and waits.</summary>
    public T Run<T>(Func<T> job) => IsModelThread ? job() : RunAsync(job).GetAwaiter().GetResult();

    public void Dispose()
    {
        work.CompleteAdding();
        if (!IsModelThread) thread.Join();
        work.Dispose();
    }
}
