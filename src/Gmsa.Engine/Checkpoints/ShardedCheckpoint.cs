using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using static TorchSharp.torch;

namespace Gmsa.Engine.Checkpoints;

/// <summary>
/// A Hugging Face model folder's weights: one <c>model.safetensors</c>, or
/// <c>model-0000i-of-0000N.safetensors</c> shards listed by <c>model.safetensors.index.json</c>
/// ({"metadata": {"total_size": bytes}, "weight_map": {tensor: shard file}}).
/// </summary>
public static partial class ShardedCheckpoint
{
    public const string SingleFile = "model.safetensors";
    public const string IndexFile = "model.safetensors.index.json";

    // transformers' loader checks this; "pt" says the tensors are PyTorch's layout.
    static readonly Dictionary<string, string> ShardMetadata = new() { ["format"] = "pt" };

    [GeneratedRegex(@"^model-\d{5}-of-\d{5}\.safetensors$")]
    private static partial Regex ShardName();

    /// <summary>Loads all weights of a model folder onto the CPU, each shard read once.</summary>
    public static Dictionary<string, Tensor> LoadFolder(string dir)
    {
        var (files, weightMap, index) = WeightFiles(dir);
        var tensors = new Dictionary<string, Tensor>();
        try
        {
            foreach (var file in files)
                foreach (var (name, t) in SafeTensors.Load(file))
                    if (!tensors.TryAdd(name, t))
                    {
                        t.Dispose();
                        throw new InvalidDataException($"{index}: tensor '{name}' is stored in more than one shard (again in '{Path.GetFileName(file)}')");
                    }
            foreach (var (name, shard) in weightMap)
                if (!tensors.ContainsKey(name))
                    throw new InvalidDataException($"{index}: tensor '{name}' is mapped to '{shard}' but that shard does not hold it");
        }
        catch
        {
            foreach (var t in tensors.Values) t.Dispose();
            throw;
        }
        return tensors;
    }

    /// <summary>Every tensor's header entry across the folder's weight files, without reading any data.</summary>
    public static Dictionary<string, SafeTensorInfo> ReadHeaders(string dir)
    {
        var result = new Dictionary<string, SafeTensorInfo>();
        foreach (var file in WeightFiles(dir).Files)
            foreach (var (name, info) in SafeTensors.ReadHeader(file))
                result[name] = info;
        return result;
    }

    /// <summary>The weight files of a folder: the single file, or the index's shards (checked to exist in the folder).</summary>
    static (List<string> Files, Dictionary<string, string> WeightMap, string Index) WeightFiles(string dir)
    {
        if (!Directory.Exists(dir))
            throw new DirectoryNotFoundException($"model folder '{dir}' does not exist");
        string single = Path.Combine(dir, SingleFile);
        string index = Path.Combine(dir, IndexFile);
        if (File.Exists(single)) return ([single], [], index);
        if (!File.Exists(index))
            throw new FileNotFoundException($"model folder '{dir}' has neither {SingleFile} nor {IndexFile}", index);

        var weightMap = ReadWeightMap(index);
        var files = new List<string>();
        foreach (var shard in weightMap.Values.Distinct().Order(StringComparer.Ordinal))
        {
            // Shards must sit in the folder itself: a weight_map is data, not a licence to read elsewhere.
            if (Path.GetFileName(shard) != shard)
                throw new InvalidDataException($"{index}: shard '{shard}' is not a plain file name");
            string shardPath = Path.Combine(dir, shard);
            if (!File.Exists(shardPath))
                throw new InvalidDataException($"{index}: shard '{shard}' is missing from '{dir}'");
            files.Add(shardPath);
        }
        return (files, weightMap, index);
    }

    /// <summary>
    /// Saves weights as Hugging Face does: one <c>model.safetensors</c> when the total fits in
    /// <paramref name="maxShardBytes"/>, else shards filled in the dictionary's order (a tensor larger
    /// than the limit gets a shard of its own) plus the index. Stale weight files of another layout
    /// are removed, so the folder never holds two disagreeing copies.
    /// </summary>
    public static void SaveFolder(string dir, IReadOnlyDictionary<string, Tensor> tensors, long maxShardBytes = 5L << 30)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxShardBytes);
        Directory.CreateDirectory(dir);
        var shards = Plan(tensors, maxShardBytes);

        if (shards.Count <= 1)
        {
            SafeTensors.Save(Path.Combine(dir, SingleFile), tensors, ShardMetadata);
            RemoveStale(dir, keep: SingleFile);
            return;
        }

        var weightMap = new SortedDictionary<string, string>(StringComparer.Ordinal);
        long totalSize = 0;
        for (int i = 0; i < shards.Count; i++)
        {
            string file = $"model-{i + 1:D5}-of-{shards.Count:D5}.safetensors";
            SafeTensors.Save(Path.Combine(dir, file), shards[i].Select(name => KeyValuePair.Create(name, tensors[name])), ShardMetadata);
            foreach (var name in shards[i])
            {
                weightMap[name] = file;
                totalSize += ByteSize(tensors[name]);
            }
        }

        // The index goes last, so a folder with an index always has all its shards.
        var index = new JsonObject
        {
            ["metadata"] = new JsonObject { ["total_size"] = totalSize },
            ["weight_map"] = new JsonObject(weightMap.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))),
        };
        string indexPath = Path.Combine(dir, IndexFile);
        File.WriteAllText(indexPath + ".tmp", index.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
        File.Move(indexPath + ".tmp", indexPath, overwrite: true);
        RemoveStale(dir, keep: weightMap.Values.Append(IndexFile).ToHashSet());
    }

    /// <summary>Groups tensor names into shards of at most <paramref name="maxShardBytes"/>, in order.</summary>
    static List<List<string>> Plan(IReadOnlyDictionary<string, Tensor> tensors, long maxShardBytes)
    {
        var shards = new List<List<string>>();
        long current = 0;
        foreach (var (name, t) in tensors)
        {
            long size = ByteSize(t);
            if (shards.Count == 0 || (current + size > maxShardBytes && current > 0))
            {
                shards.Add([]);
                current = 0;
            }
            shards[^1].Add(name);
            current += size;
        }
        return shards;
    }

    static long ByteSize(Tensor t) => t.numel() * t.ElementSize;

    static Dictionary<string, string> ReadWeightMap(string indexPath)
    {
        var root = JsonFile.Read(indexPath, json => JsonNode.Parse(json));
        if (root?["weight_map"] is not JsonObject map)
            throw new InvalidDataException($"{indexPath} lacks a 'weight_map' object");
        var result = new Dictionary<string, string>();
        foreach (var (name, file) in map)
            result[name] = file is JsonValue v && v.TryGetValue(out string? s)
                ? s : throw new InvalidDataException($"{indexPath}: weight_map entry '{name}' is not a file name");
        return result;
    }

    static void RemoveStale(string dir, string keep) => RemoveStale(dir, new HashSet<string> { keep });

    static void RemoveStale(string dir, HashSet<string> keep)
    {
        foreach (var path in Directory.EnumerateFiles(dir))
        {
            string name = Path.GetFileName(path);
            bool ours = name is SingleFile or IndexFile || ShardName().IsMatch(name);
            if (ours && !keep.Contains(name)) File.Delete(path);
        }
    }
}
