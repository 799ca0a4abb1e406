# Project-wide options and defaults. Included once from the top-level CMakeLists.txt.

if(NOT CMAKE_BUILD_TYPE AND NOT CMAKE_CONFIGURATION_TYPES)
  set(CMAKE_BUILD_TYPE Release CACHE STRING "Build type" FORCE)
endif()

set(CMAKE_CXX_STANDARD 17)
set(CMAKE_CXX_STANDARD_REQUIRED ON)
set(CMAKE_CXX_EXTENSIONS OFF)
set(CMAKE_EXPORT_COMPILE_COMMANDS ON)

option(GREEDYHASH_WERROR "Treat compiler warnings in greedyhash's own code as errors" ON)
option(GREEDYHASH_BUILD_TESTS "Build the GoogleTest suite" ON)
option(GREEDYHASH_BUILD_BENCH "Build the benchmarks in bench/" ON)
option(GREEDYHASH_PCH "Precompile <torch/torch.h> (saves ~15 s per translation unit)" ON)
# OFF: no OpenCV. Training and evaluation still work on CIFAR-10 binary batches; decoding
# JPEG/PNG files throws greedyhash::Error and plots/mosaics are skipped with a warning
# (src/without_opencv/). For machines without OpenCV, e.g. a GPU host with only PyTorch.
option(GREEDYHASH_WITH_OPENCV "Decode images and draw plots with OpenCV" ON)
# FAISS (Debian 12: libfaiss-dev) serves the codes as a binary index: greedyhash_index and
# greedyhash_search (src/index/). AUTO: use it when its CMake package is found; ON: require
# it; OFF: build without. Without it both tools still build and exit 1 saying how to
# enable it (src/without_faiss/).
set(GREEDYHASH_WITH_FAISS AUTO CACHE STRING "Build the FAISS binary index: AUTO, ON or OFF")
set_property(CACHE GREEDYHASH_WITH_FAISS PROPERTY STRINGS AUTO ON OFF)
# A folder holding copies of the header-only dependencies (CLI/, nlohmann/, spdlog/, fmt/)
# to use instead of installed packages; see docs/PERFORMANCE.md (GPU section).
set(GREEDYHASH_VENDORED_HEADERS "" CACHE PATH "Header-only dependencies folder (optional)")
# The CUDA tests alone (tests/cuda/, greedyhash_cuda_tests), for a GPU machine where the
# rest of the suite cannot build (no OpenCV); GREEDYHASH_BUILD_TESTS builds them too.
option(GREEDYHASH_CUDA_TESTS "Build the CUDA tests even with GREEDYHASH_BUILD_TESTS=OFF" OFF)
# A copy of GoogleTest's sources (Debian: /usr/src/googletest) to build it with the
# project instead of using an installed package; see cmake/GreedyhashGoogleTest.cmake.
set(GREEDYHASH_GOOGLETEST_SOURCE "" CACHE PATH "GoogleTest source folder (optional)")
# libmicrohttpd (Debian 12: libmicrohttpd-dev) carries greedyhash_serve's HTTP
# (src/serve/http_server.cpp; docs/SERVING.md says why this library). AUTO: build the
# service when it is found; ON: require it; OFF: build without the service.
set(GREEDYHASH_WITH_MICROHTTPD AUTO CACHE STRING "Build greedyhash_serve: AUTO, ON or OFF")
set_property(CACHE GREEDYHASH_WITH_MICROHTTPD PROPERTY STRINGS AUTO ON OFF)
