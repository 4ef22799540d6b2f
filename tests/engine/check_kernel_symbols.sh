#!/usr/bin/env bash
# The ISA-variant object files of folio_kernels must define code only inside their own variant's
# namespace. A weak (inline or template) function defined outside it, compiled with AVX2 or AVX-512
# flags, could be the copy the linker keeps for the whole program, and the portable build would then
# execute AVX-512 on a CPU without it. Usage: check_kernel_symbols.sh OBJECT...
# (the objects may also come as one ;-separated argument).
set -euo pipefail
objects=()
for a in "$@"; do
  IFS=';' read -r -a parts <<< "$a"
  objects+=("${parts[@]}")
done
checked=0
bad=0
for o in "${objects[@]}"; do
  case "$o" in
    */cpu/baseline/*) variant=baseline ;;
    */cpu/avx2/*) variant=avx2 ;;
    */cpu/avx512/*) variant=avx512 ;;
    *) continue ;;
  esac
  checked=$((checked + 1))
  # Code symbols: T/t (text), W/w (weak), i (ifunc). Local (t) symbols cannot merge across objects.
  while read -r type name; do
    case "$name" in
      "folio::kernels::${variant}::"*) continue ;;
    esac
    echo "$(basename "$o"): $type $name: code outside folio::kernels::${variant}:: in a ${variant} object" >&2
    bad=$((bad + 1))
  done < <(nm -C --defined-only "$o" | awk '$2 ~ /^[TWi]$/ { t = $2; $1 = ""; $2 = ""; sub(/^  */, ""); print t, $0 }')
done
if [ "$checked" -lt 3 ]; then
  echo "found only $checked ISA-variant objects among the arguments" >&2
  exit 1
fi
if [ "$bad" -gt 0 ]; then
  echo "$bad symbol(s) would be shared between ISA variants" >&2
  exit 1
fi
echo "$checked ISA-variant objects define code only in their own namespaces"
