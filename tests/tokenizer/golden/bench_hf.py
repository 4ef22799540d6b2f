#!/usr/bin/env python3
"""The reference figures for docs/perf.md: Hugging Face tokenizers' encode speed on the same texts as
`folio-cli bench tokenizer` (the book, and the source files under a directory taken in path order up
to the same byte limit), single-threaded (one encode call) and on all cores (encode_batch over
line-aligned chunks of about 64 KB; RAYON_NUM_THREADS=1 for one thread, which is also measured on
one encode call of the whole text). Added tokens are removed from the tokenizer, as folio's encode() ignores them.

Run it with the venv of make_goldens.py:
  build/tokenizer-venv/bin/python tests/tokenizer/golden/bench_hf.py --model DIR --book FILE --source DIR
"""
import argparse
import json
import os
import time
from pathlib import Path

EXTS = {".c", ".cc", ".cpp", ".h", ".hpp", ".py", ".rs", ".go", ".js", ".ts"}


def source_tree(root, limit):
    files = sorted(p for p in Path(root).rglob("*") if p.suffix in EXTS and p.is_file())
    out = bytearray()
    for p in files:
        if len(out) >= limit:
            break
        try:
            out += p.read_bytes()
        except OSError:
            pass
    return bytes(out)


def best(f, reps=3, min_s=1.0):
    """(wall seconds, process CPU seconds) of the fastest run."""
    runs = []
    while len(runs) < reps or sum(r[0] for r in runs) < min_s:
        t0, c0 = time.perf_counter(), time.process_time()
        f()
        runs.append((time.perf_counter() - t0, time.process_time() - c0))
        if len(runs) > 50:
            break
    return min(runs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--book", required=True)
    ap.add_argument("--source", default="/usr/include")
    ap.add_argument("--source-limit-mb", type=int, default=16)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    args = ap.parse_args()
    os.environ["RAYON_NUM_THREADS"] = str(args.threads)
    os.environ["TOKENIZERS_PARALLELISM"] = "true"
    import tokenizers
    from tokenizers import Tokenizer

    path = Path(args.model)
    spec = json.loads((path / "tokenizer.json" if path.is_dir() else path).read_text(encoding="utf-8"))
    spec["added_tokens"] = []
    tok = Tokenizer.from_str(json.dumps(spec))
    texts = [(Path(args.book).name, Path(args.book).read_bytes())]
    if args.source:
        texts.append((args.source, source_tree(args.source, args.source_limit_mb << 20)))
    for name, data in texts:
        text = data.decode("utf-8", errors="replace")
        t0, c0 = time.perf_counter(), time.process_time()
        n = len(tok.encode(text, add_special_tokens=False).ids)
        s1 = (time.perf_counter() - t0, time.process_time() - c0)
        # Cut after a newline followed by an ASCII letter: there the pre-tokenizer always splits, so
        # the chunks' tokens are the whole text's tokens (checked below).
        lines = text.split("\n")
        chunks, cur, size = [], [], 0
        target = 1 << 16
        for i, ln in enumerate(lines):
            piece = ln + ("\n" if i + 1 < len(lines) else "")
            cur.append(piece)
            size += len(piece)
            nxt = lines[i + 1][:1] if i + 1 < len(lines) else ""
            if size >= target and nxt.isascii() and nxt.isalpha():
                chunks.append("".join(cur))
                cur, size = [], 0
        if cur:
            chunks.append("".join(cur))
        assert sum(len(e.ids) for e in tok.encode_batch(chunks, add_special_tokens=False)) == n
        sN = best(lambda: tok.encode_batch(chunks, add_special_tokens=False), reps=1, min_s=0)
        for how, threads, s in (("encode(whole text)", 1, s1), ("encode_batch(64 KB chunks)", args.threads, sN)):
            print(json.dumps({"bench": "tokenizer", "impl": f"hf-tokenizers {tokenizers.__version__}", "call": how,
                              "text": name, "bytes": len(data), "tokens": n, "threads": threads,
                              "value": round(len(data) / 1e6 / s[0], 2), "unit": "MB/s",
                              "mb_per_cpu_s": round(len(data) / 1e6 / s[1], 2)}))


if __name__ == "__main__":
    main()
