#!/usr/bin/env bash
# Installs what tpbench needs to build and test on Debian/Ubuntu (as root, or through sudo).
# The CUDA toolkit (nvcc, cuBLAS, NCCL) is optional: without it the host-only tool builds.
set -euo pipefail
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
  build-essential cmake ninja-build git ca-certificates \
  libcli11-dev nlohmann-json3-dev libbenchmark-dev libgtest-dev libopenblas-dev \
  libopenmpi-dev openmpi-bin python3 python3-pip >/dev/null
# Python is for plots and comparison scripts only (and their tests).
PY_PKGS="matplotlib jsonschema pytest"
python3 -m pip install -q $PY_PKGS 2>/dev/null \
  || python3 -m pip install -q --break-system-packages $PY_PKGS 2>/dev/null \
  || $SUDO apt-get install -y -qq python3-matplotlib python3-jsonschema python3-pytest >/dev/null
echo "dependencies installed"
