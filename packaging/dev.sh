#!/usr/bin/env bash
# Folio's two set-up commands on Debian 12:
#   packaging/dev.sh run    install what is missing, build, and launch the desktop app (with no
#                           display: the CLI's main job on the demo model)
#   packaging/dev.sh test   install what is missing, build, and run the whole test suite (ctest)
# Re-running is fast: packages already present are not reinstalled and the build is incremental.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${FOLIO_BUILD_DIR:-$here/build}
mode=${1:-}

packages=(build-essential cmake ninja-build ccache pkg-config git python3 python3-venv file dpkg-dev
  qt6-base-dev qt6-httpserver-dev qt6-websockets-dev libqt6sql6-sqlite libqt6svg6 qt6-qpa-plugins libgl-dev
  libgit2-dev libpoppler-qt6-dev libsqlite3-dev nlohmann-json3-dev libopenblas-dev xvfb xauth qemu-user)

install_missing() {
  local missing=()
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "Installing: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

configure_and_build() {
  if [ ! -f "$build/build.ninja" ]; then
    cmake -S "$here" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFOLIO_WERROR=ON
  fi
  cmake --build "$build" -j "$(nproc)"
}

case "$mode" in
  run)
    install_missing
    configure_and_build
    if [ -n "${DISPLAY:-}" ] || [ -n "${WAYLAND_DISPLAY:-}" ]; then
      exec "$build/bin/folio"
    fi
    echo "No display: running the CLI main job on the demo model instead of the desktop app."
    exec "$build/bin/folio-cli" ask --demo "$here/README.md" -- "What is Folio, and how do I run its tests?"
    ;;
  test)
    install_missing
    configure_and_build
    cd "$build"
    exec ctest --output-on-failure -j "$(nproc)"
    ;;
  *)
    echo "usage: $0 run|test" >&2
    exit 2
    ;;
esac
