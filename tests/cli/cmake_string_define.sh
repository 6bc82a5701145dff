#!/usr/bin/env bash
# cmake/TpbenchStringDefine.cmake: a reason text with ';' and '"' in it (what
# cmake/TpbenchCudnn.cmake writes when cuDNN is missing) becomes one compile definition, and the
# program built with it prints the text with ';' as ',' and '"' as '\''. Without the escaping the
# ';' splits the definition and the compile command fails.
# Usage: cmake_string_define.sh <tpbench-binary> <source-dir>
set -u
. "$(dirname "$0")/lib.sh"
command -v cmake >/dev/null && command -v c++ >/dev/null || { echo "cmake or c++ missing"; exit 77; }
mkdir -p "$TMP/p"
cat >"$TMP/p/CMakeLists.txt" <<CM
cmake_minimum_required(VERSION 3.20)
project(string_define CXX)
include($SRC/cmake/TpbenchStringDefine.cmake)
add_executable(say say.cpp)
tpbench_string_define(say.cpp REASON "not found: cuDNN (cudnn.h and libcudnn; set CUDNN_ROOT) and \"x\"")
CM
printf '#include <cstdio>\nint main() { std::puts(REASON); }\n' >"$TMP/p/say.cpp"
if cmake -S "$TMP/p" -B "$TMP/b" >"$TMP/log" 2>&1 && cmake --build "$TMP/b" >>"$TMP/log" 2>&1; then
  got=$("$TMP/b/say")
  want="not found: cuDNN (cudnn.h and libcudnn, set CUDNN_ROOT) and 'x'"
  if [ "$got" = "$want" ]; then echo "ok: the reason survives as one definition"; else echo "FAIL: printed '$got'"; fail=1; fi
else
  cat "$TMP/log"
  echo "FAIL: a reason with ';' did not build"
  fail=1
fi
finish
