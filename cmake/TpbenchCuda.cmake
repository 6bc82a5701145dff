# Finds nvcc, the CUDA toolkit (cudart, cuBLAS, cuBLASLt) and NCCL.
# Result: TPBENCH_HAVE_CUDA, targets CUDA::* and tpbench::nccl.
set(TPBENCH_HAVE_CUDA OFF)
if(TPBENCH_CUDA STREQUAL "OFF")
  message(STATUS "tpbench: CUDA backend disabled (-DTPBENCH_CUDA=OFF)")
  return()
endif()

include(CheckLanguage)
check_language(CUDA)
if(NOT CMAKE_CUDA_COMPILER)
  if(TPBENCH_CUDA STREQUAL "ON")
    message(FATAL_ERROR "tpbench: -DTPBENCH_CUDA=ON but no CUDA compiler (nvcc) was found")
  endif()
  message(STATUS "tpbench: no nvcc found; building the host-only (cpu backend) tool")
  return()
endif()
if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
  # sm_90 (H100/H200) is what the project measures on; override with -DCMAKE_CUDA_ARCHITECTURES.
  set(CMAKE_CUDA_ARCHITECTURES 90)
endif()
enable_language(CUDA)
find_package(CUDAToolkit REQUIRED)

# NCCL: in the toolkit, under NCCL_ROOT, or in Python's nvidia-nccl package.
find_path(NCCL_INCLUDE_DIR nccl.h
          HINTS ${NCCL_ROOT} $ENV{NCCL_ROOT} ${CUDAToolkit_INCLUDE_DIRS}
          PATH_SUFFIXES include)
find_library(NCCL_LIBRARY NAMES nccl libnccl.so.2
             HINTS ${NCCL_ROOT} $ENV{NCCL_ROOT} ${CUDAToolkit_LIBRARY_DIR}
             PATH_SUFFIXES lib lib64)
if(NOT NCCL_INCLUDE_DIR OR NOT NCCL_LIBRARY)
  message(FATAL_ERROR "tpbench: NCCL not found (looked in the CUDA toolkit and NCCL_ROOT='${NCCL_ROOT}'). "
                      "Install libnccl-dev, set -DNCCL_ROOT=/path/to/nccl, or build host-only with -DTPBENCH_CUDA=OFF")
endif()
add_library(tpbench::nccl UNKNOWN IMPORTED)
set_target_properties(tpbench::nccl PROPERTIES IMPORTED_LOCATION ${NCCL_LIBRARY}
                                               INTERFACE_INCLUDE_DIRECTORIES ${NCCL_INCLUDE_DIR})
message(STATUS "tpbench: CUDA ${CUDAToolkit_VERSION} (${CMAKE_CUDA_COMPILER}), arch ${CMAKE_CUDA_ARCHITECTURES}, NCCL ${NCCL_LIBRARY}")
set(TPBENCH_HAVE_CUDA ON)
