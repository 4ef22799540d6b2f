#!/usr/bin/env bash
# Folio beside llama.cpp on the same weights, same threads, same run (not part of CI).
#
# Builds, once, into a cache folder: the llama.cpp vendored in llama-cpp-python 0.3.36's PyPI
# sdist (its deepseek4 CPU backend, GGML_NATIVE) and a virtual environment for its converter. Then
# writes a flash-shape checkpoint with folio-cli make-model, converts it with llama.cpp's own
# convert_hf_to_gguf.py (MXFP4 experts, Q8_0 attention, BF16 head) and runs, back to back,
#   llama-bench -m flash.gguf -p 512 -n 32 -t THREADS
#   folio-cli bench prefill --context 512 --chunk 512 and bench decode --tokens 32 (same threads)
# once quiet and once with one other busy process on the machine (a core taken), and prints both
# tools' tok/s and the ratio. Folio runs on the safetensors (fp8 attention, fp4 experts, bf16 head;
# it does not read GGUF yet), llama.cpp on its conversion of the same checkpoint.
#
# Usage: tests/scripts/bench_vs_llamacpp.sh BUILD_DIR [THREADS]
#   FOLIO_LLAMACPP_CACHE  cache folder (default ~/.cache/folio-llamacpp)
#   FOLIO_CPU             forces Folio's kernel variant (avx2 on an AVX-512 machine, say); with
#                         FOLIO_CPU=avx2 llama.cpp is built for AVX2 too (GGML_NATIVE=OFF,
#                         GGML_AVX2=ON) so that both run the same instruction set.
set -euo pipefail
build=$(cd "$1" && pwd)
threads=${2:-$(nproc)}
cache=${FOLIO_LLAMACPP_CACHE:-$HOME/.cache/folio-llamacpp}
variant=${FOLIO_CPU:-auto}
cli=$build/bin/folio-cli
mkdir -p "$cache"

sdist=$cache/llama_cpp_python-0.3.36
if [ ! -d "$sdist" ]; then
  # The sdist straight from PyPI (pip download would build its build dependencies from source).
  url=$(python3 -c 'import json, urllib.request; d = json.load(urllib.request.urlopen("https://pypi.org/pypi/llama-cpp-python/0.3.36/json")); print(next(u["url"] for u in d["urls"] if u["packagetype"] == "sdist"))')
  python3 -c 'import sys, urllib.request; urllib.request.urlretrieve(sys.argv[1], sys.argv[2])' "$url" "$cache/llama_cpp_python-0.3.36.tar.gz"
  tar xzf "$cache/llama_cpp_python-0.3.36.tar.gz" -C "$cache"
fi
src=$sdist/vendor/llama.cpp
if [ "$variant" = avx2 ]; then
  lbuild=$cache/build-avx2
  flags=(-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF)
else
  lbuild=$cache/build-native
  flags=(-DGGML_NATIVE=ON)
fi
if [ ! -x "$lbuild/bin/llama-bench" ]; then
  cmake -S "$src" -B "$lbuild" -G Ninja -DCMAKE_BUILD_TYPE=Release -DGGML_CUDA=OFF -DLLAMA_CURL=OFF "${flags[@]}"
  cmake --build "$lbuild" -j "$(nproc)" --target llama-bench llama-quantize
fi
venv=$cache/venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q torch
  "$venv/bin/pip" install -q numpy safetensors sentencepiece "transformers<5" -e "$src/gguf-py"
fi

model=$cache/flash-shape-seed1
if [ ! -f "$model/config.json" ]; then
  "$cli" make-model --preset flash-shape --seed 1 --out "$model" >/dev/null
fi
gguf=$cache/flash-shape-seed1.gguf
if [ ! -f "$gguf" ]; then
  # The converter only takes tokenizers it knows: the synthetic model's weights beside DeepSeek's
  # real tokenizer (same vocabulary size, from ../shared/fixtures), in a folder of links.
  tok=${FOLIO_SHARED_DIR:-$(cd "$(dirname "$0")/../../.." && pwd)/shared}/fixtures/tokenizer/deepseek-v3
  [ -f "$tok/tokenizer.json" ] || { echo "needs DeepSeek's tokenizer at $tok"; exit 1; }
  conv=$cache/flash-shape-seed1-convert
  rm -rf "$conv" && mkdir -p "$conv"
  for f in "$model"/*.safetensors "$model"/model.safetensors.index.json "$model"/config.json; do ln -s "$f" "$conv/"; done
  cp "$tok"/tokenizer.json "$tok"/tokenizer_config.json "$conv/"
  "$venv/bin/python" "$src/convert_hf_to_gguf.py" "$conv" --outfile "$gguf" --outtype q8_0
fi

run_pair() { # run_pair LABEL
  local label=$1 lj fp fd
  lj=$("$lbuild/bin/llama-bench" -m "$gguf" -p 512 -n 32 -t "$threads" -o json 2>/dev/null)
  fp=$("$cli" bench prefill --model "$model" --context 512 --chunk 512 --threads "$threads" --no-blas --json 2>/dev/null)
  fd=$("$cli" bench decode --model "$model" --context 512 --tokens 32 --threads "$threads" --json 2>/dev/null)
  python3 - "$label" "$threads" "$lj" "$fp" "$fd" <<'EOF'
import json, sys
label, threads, lj, fp, fd = sys.argv[1:]
ll = json.loads(lj)
lp = next(r["avg_ts"] for r in ll if r["n_prompt"] > 0 and r["n_gen"] == 0)
ld = next(r["avg_ts"] for r in ll if r["n_gen"] > 0 and r["n_prompt"] == 0)
def metric(lines, name):
    for line in lines.splitlines():
        d = json.loads(line)
        if d.get("metric") == name:
            return d["value"], d.get("cpu_kernels", "?")
fpv, kern = metric(fp, "tokens_per_s")
fdv, _ = metric(fd, "tokens_per_s")
print(f"{label}: threads {threads}, folio {kern} kernels")
print(f"  prefill 512: llama.cpp {lp:8.2f} tok/s  folio {fpv:8.2f} tok/s  folio/llama.cpp {fpv / lp:5.2f}")
print(f"  decode 32:   llama.cpp {ld:8.2f} tok/s  folio {fdv:8.2f} tok/s  folio/llama.cpp {fdv / ld:5.2f}")
EOF
}

echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-), $(nproc) cores; $(date -u '+%Y-%m-%d %H:%M UTC')"
run_pair "quiet machine"
# One other busy process: a core is taken, as on a desktop with a browser running.
( while :; do :; done ) &
busy=$!
trap 'kill $busy 2>/dev/null || true' EXIT
run_pair "one busy process beside"
