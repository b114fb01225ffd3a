"""How much of a pass key's digit order reaches the soft tokens, rate by rate.

Compresses one context with three keys (the key; the same digits reversed; other digits) through `gmsa compress`
and prints, per rate, the distance between the soft tokens of the key and those of each variant
(||A - B|| / ||A|| over the whole [n, hidden] tensor). A merge that keeps order puts the reversed key about as far
away as the other digits; a mean blind to order puts it much nearer. Plain Python: the safetensors file is parsed by
hand (bf16 or f32). Usage, from the repository root after `dotnet build src/Gmsa.Cli -c Release`:
    python3 recipes/ablations/order_probe.py [GMSA_CLI_DLL] [WORK_DIR]
"""
import json, math, struct, subprocess, sys, os

CLI = sys.argv[1] if len(sys.argv) > 1 else "src/Gmsa.Cli/bin/Release/net10.0/linux-x64/gmsa.dll"
WORK = sys.argv[2] if len(sys.argv) > 2 else "runs/order-probe"
CONTEXT = "Here is a short note for you. The pass key is {key}. Remember it. The grass is green and the sky is blue today."
KEYS = {"key": "50317", "reversed": "71305", "other digits": "82946"}
RATES = [1, 2, 4, 8, 16]

def soft_tokens(path):
    with open(path, "rb") as f:
        size = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(size))
        entry = header["soft_tokens"]
        f.seek(8 + size + entry["data_offsets"][0])
        raw = f.read(entry["data_offsets"][1] - entry["data_offsets"][0])
    if entry["dtype"] == "BF16":
        return [struct.unpack("<f", b"\x00\x00" + raw[i:i + 2])[0] for i in range(0, len(raw), 2)]
    return list(struct.unpack(f"<{len(raw) // 4}f", raw))

def distance(a, b):
    return math.sqrt(sum((x - y) ** 2 for x, y in zip(a, b))) / math.sqrt(sum(x * x for x in a))

os.makedirs(WORK, exist_ok=True)
print("| rate | soft tokens | key vs reversed digits | key vs other digits | reversed / other |")
print("| ---: | ---: | ---: | ---: | ---: |")
for rate in RATES:
    vectors = {}
    for name, key in KEYS.items():
        out = os.path.join(WORK, f"{name.replace(' ', '-')}-{rate}x.safetensors")
        subprocess.run(["dotnet", CLI, "compress", "--rate", str(rate), "--text", CONTEXT.format(key=key), "--out", out],
                       check=True, capture_output=True)
        vectors[name] = soft_tokens(out)
    reversed_, other = distance(vectors["key"], vectors["reversed"]), distance(vectors["key"], vectors["other digits"])
    count = len(vectors["key"]) // 384
    print(f"| {rate}x | {count} | {reversed_:.4f} | {other:.4f} | {reversed_ / other:.2f} |")
