#!/usr/bin/env bash
# Folio's last-position logits against llama.cpp's on the same GGUF files (not part of CI).
#
# Uses the llama.cpp build and the flash-shape GGUF files of bench_vs_llamacpp.sh (run that first:
# it builds llama.cpp into the cache folder, converts the checkpoint and makes the Q4_K_M and Q2_K
# files), compiles llamacpp_logits.cpp against that libllama, and for each file and each of four
# token sequences (150, 300, 600 and 700 tokens: past the 128-token window, the first compressed
# blocks and 512) prints the max and RMS deviation of Folio's logits from llama.cpp's (RMS relative
# to the RMS of llama.cpp's logits), and whether the top-1 and the top-5 sets agree. Folio runs
# twice: its default numerics (DeepSeek's reference: e4m3/fp4 round trips of activations, KV and
# indexer) and --exact (none, as llama.cpp computes).
#
# Usage: tests/scripts/compare_logits_llamacpp.sh BUILD_DIR [THREADS]
set -euo pipefail
build=$(cd "$1" && pwd)
threads=${2:-$(nproc)}
cache=${FOLIO_LLAMACPP_CACHE:-$HOME/.cache/folio-llamacpp}
src=$cache/llama_cpp_python-0.3.36/vendor/llama.cpp
lbuild=$cache/build-native
[ -f "$lbuild/bin/libllama.so" ] || { echo "run tests/scripts/bench_vs_llamacpp.sh first"; exit 1; }
tool=$cache/llamacpp_logits
here=$(cd "$(dirname "$0")" && pwd)
if [ ! -x "$tool" ] || [ "$here/llamacpp_logits.cpp" -nt "$tool" ]; then
  g++ -O2 -std=c++17 -I"$src/include" -I"$src/ggml/include" "$here/llamacpp_logits.cpp" -o "$tool" \
      -L"$lbuild/bin" -lllama -lggml -lggml-base -Wl,-rpath,"$lbuild/bin"
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-), $threads threads; $(date -u '+%Y-%m-%d %H:%M UTC')"
for q in q8_0 q4_k_m q2_k; do
  f=$cache/flash-shape-seed1-$q.gguf
  [ -f "$f" ] || { echo "$f is missing"; continue; }
  for len in 150 300 600 700; do
    ids=$(python3 -c "
import sys
n, s = int(sys.argv[1]), 12345 + int(sys.argv[1])
out = []
for _ in range(n):
    s = (s * 1103515245 + 12345) % 2**31
    out.append(str(2 + s % 128000))  # ordinary tokens, no specials
print(','.join(out))" "$len")
    "$tool" "$f" "$threads" "$ids" > "$out/l.txt" 2>/dev/null
    "$build/bin/folio-cli" logits --model "$f" --tokens "$ids" --threads "$threads" --json > "$out/f.json"
    "$build/bin/folio-cli" logits --model "$f" --tokens "$ids" --threads "$threads" --exact --json > "$out/e.json"
    python3 - "$q" "$len" "$out" <<'PY'
import json, math, sys
q, n, d = sys.argv[1], sys.argv[2], sys.argv[3]
l = [float(x) for x in open(d + "/l.txt")]
def report(name, path):
    f = json.loads(open(path).read())["logits"]
    assert len(f) == len(l)
    diff = [a - b for a, b in zip(f, l)]
    mx = max(abs(x) for x in diff)
    rms = math.sqrt(sum(x * x for x in diff) / len(diff)) / math.sqrt(sum(x * x for x in l) / len(l))
    top = lambda v, k: set(sorted(range(len(v)), key=lambda i: -v[i])[:k])
    t1 = top(f, 1) == top(l, 1)
    t5 = len(top(f, 5) & top(l, 5))
    print(f"{q:7s} {n:>4s} tokens  {name:8s} max |d| {mx:8.4f}  rel RMS {rms:7.4f}  top-1 {'same' if t1 else 'DIFFERS'}  top-5 {t5}/5 shared")
report("default", d + "/f.json")
report("exact", d + "/e.json")
PY
  done
done
