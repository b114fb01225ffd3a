"""Writes a data folder whose training and validation splits are the same 8 documents: the first 8 documents of
data/tokens/train.bin that hold 128 tokens, cut to 128. Stage 1 on it (micro-batch 8, 128-token contexts) trains on
one batch over and over: how fast a recipe can fit a single batch, with nothing of generalisation in the way.

    python3 recipes/ablations/overfit/one_batch_data.py data/tokens/train.bin runs/overfit-data
"""
import os
import struct
import sys

import numpy as np

source, out = sys.argv[1], sys.argv[2]
raw = open(source, "rb").read()
if raw[:8] != b"GMSATOK1":
    sys.exit(f"{source} is not a Gmsa token file")
vocab, _ = struct.unpack("<iq", raw[8:20])
ids = np.frombuffer(raw[20:], dtype=np.uint16)
BOS, EOS, LENGTH, COUNT = 1, 2, 128, 8

documents, start = [], None
for i, token in enumerate(ids):
    if token in (BOS, EOS):
        if start is not None and i - start >= LENGTH:
            documents.append(ids[start:start + LENGTH])
        start = None
        if len(documents) == COUNT:
            break
    elif start is None:
        start = i

stream = np.concatenate([np.concatenate([[BOS], d, [EOS]]) for d in documents]).astype(np.uint16)
os.makedirs(out, exist_ok=True)
for split in ("train.bin", "validation.bin"):
    with open(os.path.join(out, split), "wb") as f:
        f.write(b"GMSATOK1" + struct.pack("<iq", vocab, len(stream)) + stream.tobytes())
print(f"{len(documents)} documents of {LENGTH} tokens -> {out}")
