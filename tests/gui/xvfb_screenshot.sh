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
python3 "$(dirname "$0")/check_png.py" "$out" 1280x800
rm -rf "$XDG_CONFIG_HOME"
