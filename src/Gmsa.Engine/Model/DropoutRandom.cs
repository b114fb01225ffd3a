using System.Collections.Concurrent;
using TorchSharp;
using static TorchSharp.torch;

namespace Gmsa.Engine.Model;

/// <summary>
/// Where dropout masks come from: one generator per device, owned here. TorchSharp exposes only the CPU default
/// generator's state, so a CUDA run's dropout could not be saved and resumed exactly; with generators of our own,
/// a training checkpoint records the state of every device that drew a mask (<see cref="Capture"/>), and
/// activation checkpointing replays a block's masks when it recomputes the block (<see cref="Snapshot"/>).
/// </summary>
public static class DropoutRandom
{
    static readonly ConcurrentDictionary<string, Generator> generators = new();
    static long seed = 1337;

    /// <summary>Reseeds every device's generator (a training run calls this with its recipe's seed).</summary>
    public static void Seed(long value)
    {
        seed = value;
        foreach (var g in generators.Values) g.manual_seed(value);
    }

    static Generator For(Device device) =>
        generators.GetOrAdd(device.ToString(), _ => new Generator((ulong)seed, device));

    /// <summary>Inverted dropout: zeroes each element with probability <paramref name="p"/>, scales the rest by 1/(1-p).</summary>
    public static Tensor Apply(Tensor x, double p)
    {
        if (p <= 0) return x.alias();
        using var scope = NewDisposeScope();
        using Scalar drop = p, rescale = 1.0 / (1.0 - p);   // held through the calls, not temporaries (see Scalars)
        var keep = rand(x.shape, dtype: ScalarType.Float32, device: x.device, generator: For(x.device)).ge_(drop);   // [..] bool
        return x.mul(keep.to(x.dtype)).mul_(rescale).MoveToOuterDisposeScope();
    }

    /// <summary>Every device's generator state, base64 by device name, for a training checkpoint.</summary>
    public static Dictionary<string, string> Capture() =>
        generators.ToDictionary(kv => kv.Key, kv => Convert.ToBase64String(StateOf(kv.Value)));

    /// <summary>
    /// Puts back what <see cref="Capture"/> recorded. A device it did not record had drawn nothing yet, so its generator
    /// goes back to the fresh seeded state it would have been created in.
    /// </summary>
    public static void Restore(IReadOnlyDictionary<string, string> states)
    {
        foreach (var (device, g) in generators)
            if (!states.ContainsKey(device)) g.manual_seed(seed);
        foreach (var (device, base64) in states)
            SetState(For(new Device(device)), Convert.FromBase64String(base64));
    }

    /// <summary>The state of one device's generator now; <see cref="Rewind"/> puts it back, so the same masks are drawn again.</summary>
    public static byte[] Snapshot(Device device) => StateOf(For(device));

    public static void Rewind(Device device, byte[] snapshot) => SetState(For(device), snapshot);

    static byte[] StateOf(Generator generator)
    {
        using var state = generator.get_state();
        return state.bytes.ToArray();
    }

    static void SetState(Generator generator, byte[] bytes)
    {
        using var state = empty(bytes.Length, ScalarType.Byte);
        bytes.CopyTo(state.bytes);
        generator.set_state(state);
    }
}
