#!/usr/bin/env bash
# Runs the real `folio` binary in an X server (Xvfb) and checks that its main window was drawn:
# a PNG of the window's size whose pixels are not all one colour.
set -euo pipefail
folio=$1
outdir=$2
mkdir -p "$outdir"
out="$outdir/main-window-xvfb.png"
rm -f "$out"
if ! command -v xvfb-run >/dev/null; then
  echo "xvfb-run is missing (apt-get install xvfb xauth)" >&2
  exit 1
fi
export XDG_CONFIG_HOME=$(mktemp -d)
export FOLIO_DATA_DIR=$XDG_CONFIG_HOME/data FOLIO_CACHE_DIR=$XDG_CONFIG_HOME/cache
unset QT_QPA_PLATFORM
timeout 60 xvfb-run -a -s "-screen 0 1600x1000x24" "$folio" --screenshot "$out"
python3 - "$out" <<'PY'
import struct, sys, zlib
data = open(sys.argv[1], 'rb').read()
assert data[:8] == b'\x89PNG\r\n\x1a\n', 'not a PNG'
w, h = struct.unpack('>II', data[16:24])
assert (w, h) == (1280, 800), f'unexpected size {w}x{h}'
# Walk the chunks, inflate the image data and make sure the picture is not a single flat colour.
pos, idat = 8, b''
while pos < len(data):
    length, kind = struct.unpack('>I4s', data[pos:pos + 8])
    if kind == b'IDAT':
        idat += data[pos + 8:pos + 8 + length]
    pos += 12 + length
raw = zlib.decompress(idat)
assert len(set(raw[::97])) > 4, 'flat image'
print(f'screenshot ok: {w}x{h}, {len(data)} bytes')
PY
rm -rf "$XDG_CONFIG_HOME"
