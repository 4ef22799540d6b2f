#!/usr/bin/env bash
# Runs the desktop workflow test in a real X server (Xvfb, the xcb platform) and checks that it
# saved a non-blank screenshot of each main state.
set -euo pipefail
test_binary=$1
outdir=$2
if ! command -v xvfb-run >/dev/null; then
  echo "xvfb-run is missing (apt-get install xvfb xauth)" >&2
  exit 1
fi
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
export XDG_CONFIG_HOME=$scratch/config FOLIO_DATA_DIR=$scratch/data FOLIO_CACHE_DIR=$scratch/cache
export FOLIO_SCREENSHOT_DIR=$outdir
export QT_QPA_PLATFORM=xcb
mkdir -p "$outdir"
timeout 500 xvfb-run -a -s "-screen 0 1600x1000x24" "$test_binary"
for state in sources budget chat viewer-code viewer-pdf reopened; do
  python3 - "$outdir/$state.png" <<'PY'
import struct, sys, zlib
data = open(sys.argv[1], 'rb').read()
assert data[:8] == b'\x89PNG\r\n\x1a\n', 'not a PNG'
w, h = struct.unpack('>II', data[16:24])
pos, idat = 8, b''
while pos < len(data):
    length, kind = struct.unpack('>I4s', data[pos:pos + 8])
    if kind == b'IDAT':
        idat += data[pos + 8:pos + 8 + length]
    pos += 12 + length
raw = zlib.decompress(idat)
assert len(set(raw[::97])) > 4, 'flat image'
print(f'{sys.argv[1]}: {w}x{h}')
PY
done
