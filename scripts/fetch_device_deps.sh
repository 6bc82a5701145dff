#!/usr/bin/env bash
# Run HERE (a Debian machine with apt): downloads the .deb files of the header/library
# dependencies into .deps/ so that scripts/device_check.sh can build on a GPU machine that
# reaches no package registry. Carry .deps with the working tree (it is git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."
apt-get update -qq >/dev/null 2>&1 || true  # package lists may be missing on a fresh machine
# Download into a fresh folder and replace .deps only when every package came: a failed
# download keeps the old set, and one version of each package never sits beside another.
tmp=$(mktemp -d .deps.new.XXXXXX)
chmod 755 "$tmp"  # apt downloads as its own user
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && apt-get download libcli11-dev nlohmann-json3-dev libgtest-dev libbenchmark-dev libbenchmark1debian \
  libopenblas-dev libopenblas-pthread-dev libopenblas0-pthread libgfortran5 >/dev/null)
rm -rf .deps
mv "$tmp" .deps
ls -1 .deps/*.deb
