#!/usr/bin/env python3
"""Golden logits for the engine from an independent implementation: Hugging Face transformers.

Creates (or reuses) a virtual environment with pinned PyPI packages, writes the tiny synthetic
checkpoint with `folio-cli make-model --preset tiny --seed 1`, loads it with transformers'
DeepseekV4ForCausalLM, runs fixed token sequences and writes hf_tiny_seed1.json beside this script.
The C++ test tests/engine/test_hf_golden.cpp reads that file; it never needs Python or PyPI.

    python3 tests/engine/golden/make_hf_goldens.py --folio-cli build-hf/bin/folio-cli
        [--venv DIR] [--out FILE] [--skip-install]

See README.md in this folder for what transformers computes differently from the spec.
"""

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]

# Exact versions: the goldens were produced with these. torch >= 2.7 is needed for float8_e8m0fnu.
PINS = [
    "torch==2.15.0",
    "transformers==5.23.0",
    "accelerate==1.15.0",
    "safetensors==0.8.0",
    "numpy==2.4.6",
]
# PyPI's Linux torch wheel depends on ~4 GB of CUDA wheels (nvidia-*, cuda-*, triton). A CPU run
# never uses them, but libtorch links against them, so `import torch` fails without them (tried):
# PyPI has no CPU-only Linux x86_64 torch wheel. The first run downloads ~5 GB in all.

SEED = 1
LENGTHS = [40, 200, 420]  # 420 crosses the 128 window, 3 HCA blocks and CSA top-k (8 of > 32 entries)
POSITION_STRIDE = 4  # logits of positions 0, 4, 8, ... and the last one are stored
# Top-k choices closer than this are decided by rounding (or, at exact ties, by the top-k
# implementation): such sequences are skipped. float32 noise in the scores is ~1e-6 relative.
MIN_INDEXER_MARGIN = 2e-5  # relative to the query's largest |index score|
MIN_ROUTER_MARGIN = 2e-5  # absolute, on sqrt(softplus) + bias values of order 1


def tokens_for(length, vocab, salt):
    """Deterministic ids spread over the whole vocabulary (a 31-bit LCG, no library needed)."""
    x = (12345 + 7919 * salt) & 0x7FFFFFFF
    out = []
    for _ in range(length):
        x = (1103515245 * x + 12345) & 0x7FFFFFFF
        out.append((x >> 8) % vocab)
    return out


def positions_for(length):
    pos = list(range(0, length, POSITION_STRIDE))
    if pos[-1] != length - 1:
        pos.append(length - 1)
    return pos


def selection_margins(model, tokens):
    """Runs the model once and returns the smallest margins of its two discrete choices.

    indexer: over every CSA layer and every query with more than index_topk visible compressed
    entries, (k-th best - (k+1)-th best index score) / max |index score| of that query.
    router: over every score-routed (not hash) MoE layer and token, the gap between the
    num_experts_per_tok-th and the next value of sqrt(softplus(logit)) + bias.
    A tie (margin 0: e.g. two entries whose index score is exactly 0 because every head's ReLU
    is 0) makes the selection implementation-defined: transformers' torch.topk and the engine
    break ties differently, so such inputs are not usable as goldens.
    """
    import torch
    import torch.nn.functional as F
    from transformers.models.deepseek_v4 import modeling_deepseek_v4 as hf

    cfg = model.config
    seen, hooks = {}, []
    for li, layer in enumerate(model.model.layers):
        comp = layer.self_attn.compressor
        if isinstance(comp, hf.DeepseekV4CSACompressor):
            hooks.append(comp.indexer.scorer.register_forward_hook(
                lambda mod, inp, out, li=li: seen.__setitem__(("indexer", li), out.detach())))
        if isinstance(layer.mlp.gate, hf.DeepseekV4TopKRouter):
            hooks.append(layer.mlp.gate.register_forward_hook(
                lambda mod, inp, out, li=li: seen.__setitem__(("router", li), inp[0].detach())))
    with torch.no_grad():
        model(input_ids=torch.tensor([tokens], dtype=torch.long), use_cache=False)
    for h in hooks:
        h.remove()
    k = cfg.index_topk
    ratio = cfg.compress_rates["compressed_sparse_attention"]
    indexer, router = float("inf"), float("inf")
    for (kind, li), v in seen.items():
        if kind == "indexer":
            scores = v[0]
            for t in range(scores.shape[0]):
                visible = (t + 1) // ratio
                if visible <= k:
                    continue
                row = scores[t, :visible]
                top = row.sort(descending=True).values
                indexer = min(indexer, ((top[k - 1] - top[k]) / row.abs().max()).item())
        else:
            gate = model.model.layers[li].mlp.gate
            x = v.reshape(-1, gate.hidden_dim)
            key = F.softplus(F.linear(x, gate.weight)).sqrt() + gate.e_score_correction_bias
            top = key.sort(dim=-1, descending=True).values
            router = min(router, (top[:, gate.top_k - 1] - top[:, gate.top_k]).min().item())
    return indexer, router


def pick_sequence(model, length, vocab, salt0):
    """The first token sequence (by salt) whose top-k choices are clear of float32 noise."""
    for salt in range(salt0, salt0 + 200):
        tokens = tokens_for(length, vocab, salt)
        indexer, router = selection_margins(model, tokens)
        if indexer >= MIN_INDEXER_MARGIN and router >= MIN_ROUTER_MARGIN:
            print(f"{length} tokens: salt {salt}, margins indexer {indexer:.3g}, router {router:.3g}", flush=True)
            return {"salt": salt, "tokens": tokens, "positions": positions_for(length),
                    "min_indexer_margin": indexer, "min_router_margin": router}
        print(f"{length} tokens: salt {salt} rejected, margins indexer {indexer:.3g}, router {router:.3g}",
              flush=True)
    raise SystemExit(f"no sequence of {length} tokens with clear top-k choices")


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def ensure_venv(venv_dir, skip_install):
    python = venv_dir / "bin" / "python"
    if not python.exists():
        print(f"creating virtual environment {venv_dir}", flush=True)
        venv.EnvBuilder(with_pip=True, clear=False).create(venv_dir)
    if not skip_install:
        subprocess.run([str(python), "-m", "pip", "install", "--disable-pip-version-check", *PINS], check=True)
    return python


def inner(args):
    import torch
    import transformers
    from transformers import AutoModelForCausalLM

    torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))
    with tempfile.TemporaryDirectory(prefix="folio-hf-golden-") as tmp:
        subprocess.run([args.folio_cli, "make-model", "--preset", "tiny", "--seed", str(SEED), "--out", tmp],
                       check=True, stdout=subprocess.DEVNULL)
        shards = sorted(p.name for p in Path(tmp).glob("*.safetensors"))
        hashes = {name: sha256(Path(tmp) / name) for name in shards}
        config = json.loads((Path(tmp) / "config.json").read_text())
        vocab = int(config["vocab_size"])

        model = AutoModelForCausalLM.from_pretrained(
            tmp, dtype=torch.bfloat16, device_map="cpu", attn_implementation="eager", experts_implementation="eager")
        model.eval()
        # The checkpoint's fp8/fp4 weights times power-of-two scales are exact in bf16; the
        # tensors transformers keeps in fp32 (mHC, sinks, ape, gate bias, norms) stay exact too.
        model = model.float()
        sequences = []
        for length in LENGTHS:
            sequences.append(pick_sequence(model.to(torch.float64), length, vocab, salt0=len(sequences) * 1000))
        logits = {}
        for name, dtype in (("float32", torch.float32), ("float64", torch.float64)):
            m = model.to(dtype)
            logits[name] = []
            for seq in sequences:
                ids = torch.tensor([seq["tokens"]], dtype=torch.long)
                with torch.no_grad():
                    out = m(input_ids=ids, use_cache=False).logits[0].to(torch.float64)
                logits[name].append(out)

    # Goldens are the float64 run (transformers' own float32 rounding is measured and recorded).
    noise = []
    for seq, l32, l64 in zip(sequences, logits["float32"], logits["float64"]):
        worst_rel, worst_abs = 0.0, 0.0
        for p in range(l64.shape[0]):
            r = l64[p]
            err = (l32[p] - r).pow(2).sum().sqrt().item()
            var = (r - r.mean()).pow(2).sum().sqrt().item()
            worst_rel = max(worst_rel, err / var)
            worst_abs = max(worst_abs, (l32[p] - r).abs().max().item())
        noise.append({"max_abs": worst_abs, "max_relative_rms": worst_rel})
        seq["logits"] = [[float(f"{v:.9g}") for v in l64[p].tolist()] for p in seq["positions"]]

    doc = {
        "description": "Golden logits of the tiny synthetic checkpoint computed by Hugging Face transformers "
                       "(DeepseekV4ForCausalLM, eager, CPU) with weights dequantized exactly; no activation, "
                       "KV or indexer quantization round trips. Written by make_hf_goldens.py; see README.md.",
        "checkpoint": {"preset": "tiny", "seed": SEED, "shard_sha256": hashes},
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                     "python": sys.version.split()[0]},
        "compute_dtype": "float64",
        "float32_vs_float64": noise,
        "vocab_size": vocab,
        "min_indexer_margin": MIN_INDEXER_MARGIN,
        "min_router_margin": MIN_ROUTER_MARGIN,
        "sequences": sequences,
    }
    out = Path(args.out)
    out.write_text(json.dumps(doc, separators=(",", ":")) + "\n")
    print(f"wrote {out} ({out.stat().st_size} bytes); transformers float32 vs float64: {noise}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--folio-cli", required=True, help="path to the built folio-cli")
    ap.add_argument("--venv", default=str(REPO / "build-hf" / "venv"), help="virtual environment to create/use")
    ap.add_argument("--out", default=str(HERE / "hf_tiny_seed1.json"))
    ap.add_argument("--skip-install", action="store_true", help="use the venv as it is (no pip)")
    ap.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    args.folio_cli = str(Path(args.folio_cli).resolve())
    if args.inner:
        inner(args)
        return
    python = ensure_venv(Path(args.venv).resolve(), args.skip_install)
    cmd = [str(python), str(Path(__file__).resolve()), "--inner", "--folio-cli", args.folio_cli, "--out",
           str(Path(args.out).resolve())]
    sys.exit(subprocess.run(cmd).returncode)


if __name__ == "__main__":
    main()
