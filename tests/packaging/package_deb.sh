#!/usr/bin/env bash
# Builds the .deb with CPack and checks the files it installs.
set -euo pipefail
build=$1
cd "$build"
rm -rf package
cpack -G DEB >cpack.log 2>&1 || { cat cpack.log; exit 1; }
deb=$(ls package/*.deb)
listing=$(dpkg-deb -c "$deb")
for f in ./usr/bin/folio ./usr/bin/folio-cli ./usr/share/applications/folio.desktop \
         ./usr/share/icons/hicolor/scalable/apps/folio.svg; do
  grep -qF " $f" <<<"$listing" || { echo "missing from $deb: $f"; echo "$listing"; exit 1; }
done
dpkg-deb -f "$deb" Package | grep -qx folio
dpkg-deb -f "$deb" Depends | grep -q libqt6widgets6
echo "package ok: $deb"
