#!/usr/bin/env bash
# Installs what tpbench needs to build and test on Debian/Ubuntu (as root, or through sudo).
# The CUDA toolkit (nvcc, cuBLAS), NCCL and cuDNN (separate libraries, not part of the toolkit)
# are optional: without them the host-only tool builds. With them, the header-only cudnn-frontend (PyPI's nvidia-cudnn-frontend, headers only: its
# Python dependencies are not needed) lets prefill attention build on cuDNN's SDPA.
set -euo pipefail
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
  build-essential cmake ninja-build git ca-certificates \
  libcli11-dev nlohmann-json3-dev libbenchmark-dev libgtest-dev libopenblas-dev \
  libopenmpi-dev openmpi-bin python3 python3-pip >/dev/null
# clang builds the sanitizer and libFuzzer test builds (docs/testing.md). Its sanitizer and
# libFuzzer runtimes are a package of their own on Debian 12 and newer Ubuntus; older ones ship
# them inside libclang-common-14-dev, which clang-14 pulls in.
CLANG_PKGS="clang-14"
apt-cache show libclang-rt-14-dev >/dev/null 2>&1 && CLANG_PKGS="$CLANG_PKGS libclang-rt-14-dev"
$SUDO apt-get install -y -qq --no-install-recommends $CLANG_PKGS >/dev/null
# Python is for plots and comparison scripts only (and their tests).
PY_PKGS="matplotlib jsonschema>=4.18 pytest"  # 4.18: the referencing package the schemas' $refs need
python3 -m pip install -q $PY_PKGS 2>/dev/null \
  || python3 -m pip install -q --break-system-packages $PY_PKGS 2>/dev/null \
  || $SUDO apt-get install -y -qq python3-matplotlib python3-jsonschema python3-pytest >/dev/null
# The C++ headers land in Python's site-packages/include, where cmake/TpbenchCudnn.cmake looks.
CUDNN_FRONTEND="nvidia-cudnn-frontend==1.32.0"
python3 -m pip install -q --no-deps "$CUDNN_FRONTEND" 2>/dev/null \
  || python3 -m pip install -q --no-deps --break-system-packages "$CUDNN_FRONTEND" 2>/dev/null \
  || echo "cudnn-frontend not installed: prefill on the cuda backend will be not_runnable"
echo "dependencies installed"
