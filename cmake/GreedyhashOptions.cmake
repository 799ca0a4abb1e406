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
