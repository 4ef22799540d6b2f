#!/usr/bin/env bash
# Folio beside llama.cpp on the same GGUF files, same threads, same run (not part of CI).
#
# Builds, once, into a cache folder: the llama.cpp vendored in llama-cpp-python 0.3.36's PyPI
# sdist (its deepseek4 CPU backend, GGML_NATIVE) and a virtual environment for its converter. Then
# writes a flash-shape checkpoint with folio-cli make-model, converts it with llama.cpp's own
# convert_hf_to_gguf.py (MXFP4 experts, Q8_0 attention, BF16 head), quantizes that with
# llama-quantize to Q4_K_M and Q2_K, and runs on each file, back to back,
#   llama-bench -m FILE -p 512 -n 32 -t THREADS
#   folio-cli bench prefill --model FILE --context 512 --chunk 512 and bench decode --tokens 32
# and prints both tools' tok/s and the ratio. FOLIO_BENCH_BUSY=1 repeats the first file with one
# other busy process on the machine (a core taken, as on a desktop with a browser running).
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
gguf=$cache/flash-shape-seed1-q8_0.gguf
if [ ! -f "$gguf" ]; then
  # The converter only takes tokenizers it knows: the synthetic model's weights beside DeepSeek's
  # real tokenizer (same vocabulary size, from ../shared/fixtures), in a folder of links. That
  # tokenizer is V3's; V4's chat encoding also needs <think> and </think>, added here at V4's ids
  # (128821, 128822; deepseek-v4.md section 7) as the V4 tokenizer has them.
  tok=${FOLIO_SHARED_DIR:-$(cd "$(dirname "$0")/../../.." && pwd)/shared}/fixtures/tokenizer/deepseek-v3
  [ -f "$tok/tokenizer.json" ] || { echo "needs DeepSeek's tokenizer at $tok"; exit 1; }
  conv=$cache/flash-shape-seed1-convert
  rm -rf "$conv" && mkdir -p "$conv"
  for f in "$model"/*.safetensors "$model"/model.safetensors.index.json "$model"/config.json; do ln -s "$f" "$conv/"; done
  cp "$tok"/tokenizer_config.json "$conv/"
  python3 - "$tok/tokenizer.json" "$conv/tokenizer.json" <<'EOF'
import json, sys
t = json.load(open(sys.argv[1], encoding="utf-8"))
for i, text in ((128821, "<think>"), (128822, "</think>")):
    t["added_tokens"].append({"id": i, "content": text, "single_word": False, "lstrip": False, "rstrip": False,
                              "normalized": False, "special": False})
json.dump(t, open(sys.argv[2], "w", encoding="utf-8"), ensure_ascii=False)
EOF
  "$venv/bin/python" "$src/convert_hf_to_gguf.py" "$conv" --outfile "$gguf" --outtype q8_0
fi
# llama.cpp's own K-quant mixes of that file (the experts and attention re-quantized from it).
for q in Q4_K_M Q2_K; do
  f=$cache/flash-shape-seed1-$(echo $q | tr A-Z a-z).gguf
  [ -f "$f" ] || LD_LIBRARY_PATH=$lbuild/bin "$lbuild/bin/llama-quantize" --allow-requantize "$gguf" "$f" $q "$(nproc)" >/dev/null 2>&1
done

run_pair() { # run_pair FILE LABEL
  local file=$1 label=$2 lj fp fd
  lj=$("$lbuild/bin/llama-bench" -m "$file" -p 512 -n 32 -t "$threads" -o json 2>/dev/null)
  fp=$("$cli" bench prefill --model "$file" --context 512 --chunk 512 --threads "$threads" --no-blas --json 2>/dev/null)
  fd=$("$cli" bench decode --model "$file" --context 512 --tokens 32 --threads "$threads" --json 2>/dev/null)
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
for q in q8_0 q4_k_m q2_k; do
  run_pair "$cache/flash-shape-seed1-$q.gguf" "$q (llama.cpp's file), quiet machine"
done
if [ "${FOLIO_BENCH_BUSY:-0}" = 1 ]; then
  ( while :; do :; done ) &
  busy=$!
  trap 'kill $busy 2>/dev/null || true' EXIT
  run_pair "$gguf" "q8_0, one busy process beside"
fi
