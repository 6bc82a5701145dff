# Sanitizer and fuzzing builds of the host code (see docs/testing.md).
#   TPBENCH_SANITIZE: a list of sanitizers for every target of this tree, e.g. "address;undefined"
#     or "thread" (empty: none). Undefined behaviour is made fatal so that a test hitting it fails.
#   TPBENCH_FUZZ: AUTO (default), ON or OFF. The libFuzzer targets of tests/fuzz need clang and
#     AddressSanitizer; AUTO builds them when both are there. Their coverage instrumentation goes
#     on every target (the parsers live in tpbench_core); the ASan runtime supplies the hooks the
#     executables that are not fuzzers call.
# Result: TPBENCH_HAVE_FUZZ.
set(TPBENCH_SANITIZE "" CACHE STRING "Sanitizers for the whole build: e.g. address;undefined, or thread")
set(TPBENCH_FUZZ "AUTO" CACHE STRING "Build the libFuzzer targets (tests/fuzz): AUTO, ON, OFF")
set_property(CACHE TPBENCH_FUZZ PROPERTY STRINGS AUTO ON OFF)
set(TPBENCH_HAVE_FUZZ OFF)

if(TPBENCH_SANITIZE)
  if(TPBENCH_HAVE_CUDA)
    message(FATAL_ERROR "tpbench: TPBENCH_SANITIZE covers the host code only: add -DTPBENCH_CUDA=OFF")
  endif()
  list(JOIN TPBENCH_SANITIZE "," _tpb_sanitizers)
  set(_tpb_flags -fsanitize=${_tpb_sanitizers} -fno-omit-frame-pointer)
  if("undefined" IN_LIST TPBENCH_SANITIZE)
    list(APPEND _tpb_flags -fno-sanitize-recover=undefined)
  endif()
  # -O1 whatever the build type: the level sanitizers are made for (reports keep their frames),
  # and much quicker to compile than -O3. -g1: file and line in the reports, at little cost.
  add_compile_options(${_tpb_flags} -O1 -g1)
  add_link_options(${_tpb_flags})
  message(STATUS "tpbench: sanitizers ${_tpb_sanitizers}")
endif()

if(NOT TPBENCH_FUZZ STREQUAL "OFF")
  set(_tpb_fuzz_missing "")
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    set(_tpb_fuzz_missing "libFuzzer needs clang (e.g. -DCMAKE_CXX_COMPILER=clang++)")
  elseif(NOT "address" IN_LIST TPBENCH_SANITIZE)
    set(_tpb_fuzz_missing "the fuzz targets need -DTPBENCH_SANITIZE=address;undefined")
  else()
    include(CheckCXXSourceCompiles)
    set(CMAKE_REQUIRED_FLAGS "-fsanitize=fuzzer")
    check_cxx_source_compiles(
      "#include <cstddef>\n#include <cstdint>\nextern \"C\" int LLVMFuzzerTestOneInput(const uint8_t*, size_t) { return 0; }"
      TPBENCH_LIBFUZZER_LINKS)
    unset(CMAKE_REQUIRED_FLAGS)
    if(NOT TPBENCH_LIBFUZZER_LINKS)
      set(_tpb_fuzz_missing "clang cannot link -fsanitize=fuzzer (Debian: libclang-rt-dev)")
    endif()
  endif()
  if(_tpb_fuzz_missing STREQUAL "")
    set(TPBENCH_HAVE_FUZZ ON)
    add_compile_options(-fsanitize=fuzzer-no-link)
    message(STATUS "tpbench: libFuzzer targets on")
  elseif(TPBENCH_FUZZ STREQUAL "ON")
    message(FATAL_ERROR "tpbench: -DTPBENCH_FUZZ=ON but ${_tpb_fuzz_missing}")
  endif()
endif()
