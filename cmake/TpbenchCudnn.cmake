# Finds cuDNN >= 9 (headers and libcudnn) and the header-only cudnn-frontend, for attention on a
# maintained flash-attention kernel (cuDNN's SDPA): prefill chunks run only there. Optional:
# without them the build goes on and prefill points on the cuda backend are not_runnable.
# Looks in CUDNN_ROOT / CUDNN_FRONTEND_ROOT (cache or environment), the CUDA toolkit, the
# project's .deps/ (scripts/fetch_device_deps.sh) and Python's packages (the nvidia-cudnn-cu13
# wheel's nvidia/cudnn, the nvidia-cudnn-frontend wheel's include/).
# Result: TPBENCH_HAVE_CUDNN with CUDNN_INCLUDE_DIR, CUDNN_LIBRARY and CUDNN_FRONTEND_INCLUDE_DIR;
# TPBENCH_CUDNN_ABSENT_REASON when not found.
set(TPBENCH_HAVE_CUDNN OFF)
set(TPBENCH_CUDNN "AUTO" CACHE STRING "Prefill attention on cuDNN SDPA: AUTO (when found), ON (required), OFF")
set_property(CACHE TPBENCH_CUDNN PROPERTY STRINGS AUTO ON OFF)
if(NOT TPBENCH_HAVE_CUDA OR TPBENCH_CUDNN STREQUAL "OFF")
  set(TPBENCH_CUDNN_ABSENT_REASON "built with -DTPBENCH_CUDNN=OFF")
  return()
endif()

set(_tpb_py_dirs "")
find_package(Python3 COMPONENTS Interpreter QUIET)
if(Python3_FOUND)
  execute_process(COMMAND ${Python3_EXECUTABLE} -c "import sysconfig; print(sysconfig.get_paths()['platlib'])"
                  OUTPUT_VARIABLE _tpb_site OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  if(_tpb_site)
    list(APPEND _tpb_py_dirs ${_tpb_site})
  endif()
endif()
list(TRANSFORM _tpb_py_dirs APPEND "/nvidia/cudnn" OUTPUT_VARIABLE _tpb_py_cudnn)

find_path(CUDNN_INCLUDE_DIR cudnn.h
          HINTS ${CUDNN_ROOT} $ENV{CUDNN_ROOT} ${CUDAToolkit_INCLUDE_DIRS} ${_tpb_py_cudnn}
          PATH_SUFFIXES include)
find_library(CUDNN_LIBRARY NAMES cudnn libcudnn.so.9
             HINTS ${CUDNN_ROOT} $ENV{CUDNN_ROOT} ${CUDAToolkit_LIBRARY_DIR} ${_tpb_py_cudnn}
             PATH_SUFFIXES lib lib64)
find_path(CUDNN_FRONTEND_INCLUDE_DIR cudnn_frontend.h
          HINTS ${CUDNN_FRONTEND_ROOT} $ENV{CUDNN_FRONTEND_ROOT} ${PROJECT_SOURCE_DIR}/.deps/cudnn-frontend
                ${_tpb_py_dirs}
          PATH_SUFFIXES include)

set(_tpb_missing "")
if(NOT CUDNN_INCLUDE_DIR OR NOT CUDNN_LIBRARY)
  list(APPEND _tpb_missing "cuDNN (cudnn.h and libcudnn, set CUDNN_ROOT)")
else()
  file(STRINGS ${CUDNN_INCLUDE_DIR}/cudnn_version.h _tpb_major REGEX "define CUDNN_MAJOR [0-9]+")
  string(REGEX MATCH "[0-9]+" _tpb_major "${_tpb_major}")
  if(_tpb_major LESS 9)
    list(APPEND _tpb_missing "cuDNN >= 9 (found ${_tpb_major} in ${CUDNN_INCLUDE_DIR})")
  endif()
endif()
if(NOT CUDNN_FRONTEND_INCLUDE_DIR)
  list(APPEND _tpb_missing "the cudnn-frontend headers (pip install --no-deps nvidia-cudnn-frontend, or set CUDNN_FRONTEND_ROOT)")
endif()
if(_tpb_missing)
  list(JOIN _tpb_missing " and " _tpb_missing)
  if(TPBENCH_CUDNN STREQUAL "ON")
    message(FATAL_ERROR "tpbench: -DTPBENCH_CUDNN=ON but not found: ${_tpb_missing}")
  endif()
  set(TPBENCH_CUDNN_ABSENT_REASON "built without cuDNN's SDPA: not found at configure time: ${_tpb_missing}")
  message(STATUS "tpbench: ${TPBENCH_CUDNN_ABSENT_REASON} - prefill on the cuda backend will be not_runnable")
  return()
endif()

message(STATUS "tpbench: cuDNN SDPA: ${CUDNN_LIBRARY} (cuDNN ${_tpb_major}), cudnn-frontend in ${CUDNN_FRONTEND_INCLUDE_DIR}")
set(TPBENCH_HAVE_CUDNN ON)
