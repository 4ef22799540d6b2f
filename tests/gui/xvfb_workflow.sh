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
  python3 "$(dirname "$0")/check_png.py" "$outdir/$state.png"
done
