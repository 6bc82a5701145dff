#!/usr/bin/env bash
# Run HERE (a Debian machine with apt): downloads the .deb files of the header/library
# dependencies into .deps/ so that scripts/device_check.sh can build on a GPU machine that
# reaches no package registry. Carry .deps with the working tree (it is git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .deps
cd .deps
rm -f ./*.deb  # one version of each package: two side by side would both be unpacked
apt-get update -qq >/dev/null 2>&1 || true  # package lists may be missing on a fresh machine
apt-get download libcli11-dev nlohmann-json3-dev libgtest-dev libbenchmark-dev libbenchmark1debian \
  libopenblas-dev libopenblas-pthread-dev libopenblas0-pthread libgfortran5 >/dev/null
ls -1 *.deb
