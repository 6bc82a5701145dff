#!/usr/bin/env bash
# Run HERE (a Debian machine with apt and PyPI): downloads the .deb files of the header/library
# dependencies into .deps/, and unpacks the header-only cudnn-frontend (prefill attention on
# cuDNN's SDPA) into .deps/cudnn-frontend/include, so that scripts/device_check.sh can build on a
# GPU machine that reaches no package registry (its image has cuDNN itself, in Python's
# nvidia-cudnn-cu13 wheel). Carry .deps with the working tree (it is git-ignored; about 16 MiB,
# the device tool takes at most 64 MiB).
set -euo pipefail
cd "$(dirname "$0")/.."
CUDNN_FRONTEND_VERSION=1.32.0  # the release the code is written against (also in install_deps.sh)
apt-get update -qq >/dev/null 2>&1 || true  # package lists may be missing on a fresh machine
# Download into a fresh folder and replace .deps only when everything came: a failed download
# keeps the old set, and one version of each package never sits beside another.
tmp=$(mktemp -d .deps.new.XXXXXX)
chmod 755 "$tmp"  # apt downloads as its own user
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && apt-get download libcli11-dev nlohmann-json3-dev libgtest-dev libbenchmark-dev libbenchmark1debian \
  libopenblas-dev libopenblas-pthread-dev libopenblas0-pthread libgfortran5 >/dev/null)
# The wheel's include/ is the C++ frontend (its Python part is not needed).
python3 -m pip download -q --no-deps --only-binary=:all: -d "$tmp/wheel" "nvidia-cudnn-frontend==$CUDNN_FRONTEND_VERSION"
mkdir -p "$tmp/cudnn-frontend"
python3 - "$tmp/wheel" "$tmp/cudnn-frontend" <<'PY'
import glob, sys, zipfile
wheel, = glob.glob(sys.argv[1] + "/*.whl")
with zipfile.ZipFile(wheel) as z:
    names = [n for n in z.namelist() if n.startswith("include/")]
    z.extractall(sys.argv[2], names)
print(f"cudnn-frontend: {len(names)} header files from {wheel.rsplit('/', 1)[-1]}")
PY
rm -rf "$tmp/wheel"
test -f "$tmp/cudnn-frontend/include/cudnn_frontend.h"
rm -rf .deps
mv "$tmp" .deps
ls -1 .deps/*.deb
du -sh .deps
