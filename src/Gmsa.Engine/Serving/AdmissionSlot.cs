namespace Gmsa.Engine.Serving;

/// <summary>
/// One of the scheduler's admission slots, held before a request exists (<see cref="GenerationScheduler.TryReserve"/>).
/// Disposing it gives the slot back unless a queued request took it over.
/// </summary>
public sealed class AdmissionSlot : IDisposable
{
    Action? release;

    internal AdmissionSlot(Action release) => this.release = release;

    /// <summary>Hands the release over to the request that now holds the slot.</summary>
    internal Action TakeRelease() => Interlocked.Exchange(ref release, null) ?? throw new InvalidOperationException("this slot was already used or given back");

    public void Dispose() => Interlocked.Exchange(ref release, null)?.Invoke();
}
