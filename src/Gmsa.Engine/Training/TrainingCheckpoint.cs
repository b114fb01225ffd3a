using System.Text.Json;
using Gmsa.Engine.Checkpoints;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Gmsa.Engine.Training;

/// <summary>What a checkpoint records besides weights and optimizer moments.</summary>
public sealed record TrainerState
{
    /// <summary>Optimizer steps completed; training resumes at this step.</summary>
    public int Step { get; init; }
    public long TokensSeen { get; init; }
    public int DataEpoch { get; init; }
    public long DataIndex { get; init; }
    /// <summary>libtorch's default CPU generator state (base64), for anything random that draws from it.</summary>
    public string RngState { get; init; } = "";
    /// <summary>Each device's dropout generator state (<see cref="Gmsa.Engine.Model.DropoutRandom"/>), base64 by device.</summary>
    public Dictionary<string, string> DropoutRngStates { get; init; } = [];
    public double ElapsedSeconds { get; init; }
    public double? LastValidationLoss { get; init; }
}

/// <summary>
/// Atomic training checkpoints in <c>{run}/checkpoints/</c>: each is a folder <c>step-NNNNNNN</c> with the
/// float32 master weights (<c>weights.safetensors</c>, trainable parameters by name), the optimizer's
/// moments and step counts (<c>optimizer.bin</c>, TorchSharp's format) and <c>state.json</c>. A folder is
/// written under a temporary name and renamed when complete, and the <c>latest</c> pointer is replaced
/// by a rename after that, so an interrupted write leaves the previous checkpoint as the latest one.
/// </summary>
public static class TrainingCheckpoint
{
    public const string WeightsFile = "weights.safetensors";
    public const string OptimizerFile = "optimizer.bin";
    public const string StateFile = "state.json";
    const string LatestFile = "latest";
    static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>Test hook: called with the path of each checkpoint file once written (an exception simulates a crash).</summary>
    internal static Action<string>? AfterFileWritten;

    public static string Save(string directory, TrainerState state, MasterWeights weights, OptimizerHelper optimizer, int keep = 2)
    {
        Directory.CreateDirectory(directory);
        string name = $"step-{state.Step:D7}";
        string final = Path.Combine(directory, name);
        string tmp = Path.Combine(directory, $".tmp-{name}");
        if (Directory.Exists(tmp)) Directory.Delete(tmp, recursive: true);
        Directory.CreateDirectory(tmp);

        SafeTensors.Save(Path.Combine(tmp, WeightsFile), weights.Named.Select(w => KeyValuePair.Create(w.Name, (Tensor)w.Master)),
            new Dictionary<string, string> { ["step"] = state.Step.ToString() });
        AfterFileWritten?.Invoke(Path.Combine(tmp, WeightsFile));
        using (var stream = new FileStream(Path.Combine(tmp, OptimizerFile), FileMode.CreateNew, FileAccess.Write))
        using (var writer = new BinaryWriter(stream))
        {
            optimizer.save_state_dict(writer);
            writer.Flush();
            stream.Flush(flushToDisk: true);
        }
        AfterFileWritten?.Invoke(Path.Combine(tmp, OptimizerFile));
        WriteDurably(Path.Combine(tmp, StateFile), JsonSerializer.Serialize(state, Json));
        AfterFileWritten?.Invoke(Path.Combine(tmp, StateFile));

        if (Directory.Exists(final)) Directory.Delete(final, recursive: true);
        Directory.Move(tmp, final);
        string latestTmp = Path.Combine(directory, LatestFile + ".tmp");
        WriteDurably(latestTmp, name);
        File.Move(latestTmp, Path.Combine(directory, LatestFile), overwrite: true);
        Prune(directory, keep);
        return final;
    }

    /// <summary>The newest complete checkpoint folder, or null when there is none.</summary>
    public static string? Latest(string directory)
    {
        string pointer = Path.Combine(directory, LatestFile);
        if (!File.Exists(pointer)) return null;
        string folder = Path.Combine(directory, File.ReadAllText(pointer).Trim());
        foreach (var file in new[] { WeightsFile, OptimizerFile, StateFile })
            if (!File.Exists(Path.Combine(folder, file)))
                throw new InvalidDataException($"checkpoint {folder} is incomplete: {file} is missing");
        return folder;
    }

    /// <summary>Restores weights and optimizer from a checkpoint folder and returns its state.</summary>
    public static TrainerState Load(string folder, MasterWeights weights, OptimizerHelper optimizer)
    {
        var state = ReadState(folder);
        using (var scope = NewDisposeScope())
            weights.Load(SafeTensors.Load(Path.Combine(folder, WeightsFile)), Path.Combine(folder, WeightsFile));
        using (var stream = File.OpenRead(Path.Combine(folder, OptimizerFile)))
        using (var reader = new BinaryReader(stream))
            optimizer.load_state_dict(reader);
        return state;
    }

    public static TrainerState ReadState(string folder) =>
        Checkpoints.JsonFile.Read(Path.Combine(folder, StateFile), json => JsonSerializer.Deserialize<TrainerState>(json, Json))
            ?? throw new InvalidDataException($"{folder}/{StateFile} is empty");

    public static string CaptureRng()
    {
        using var state = get_rng_state();
        return Convert.ToBase64String(state.bytes);
    }

    public static void RestoreRng(string base64)
    {
        if (base64.Length == 0) return;
        var bytes = Convert.FromBase64String(base64);
        using var state = empty(bytes.Length, ScalarType.Byte);
        bytes.CopyTo(state.bytes);
        set_rng_state(state);
    }

    static void WriteDurably(string path, string text)
    {
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write);
        stream.Write(System.Text.Encoding.UTF8.GetBytes(text));
        stream.Flush(flushToDisk: true);
    }

    /// <summary>Removes all but the newest <paramref name="keep"/> checkpoints and any abandoned temporary folder.</summary>
    static void Prune(string directory, int keep)
    {
        var folders = Directory.GetDirectories(directory, "step-*").Order(StringComparer.Ordinal).ToList();
        foreach (var old in folders.Take(Math.Max(0, folders.Count - keep))) Directory.Delete(old, recursive: true);
        foreach (var tmp in Directory.GetDirectories(directory, ".tmp-*")) Directory.Delete(tmp, recursive: true);
    }
}
