# Every executable allocates through jemalloc, tuned to keep freed memory for reuse
# (src/allocator/jemalloc_settings.cpp), where Debian's libjemalloc-dev is installed.
# glibc's malloc returns each freed block over 32 MB to the system and page-faults it in
# again at the next step: ResNet-50 training at 224 px ran 3.7x slower with it
# (docs/PERFORMANCE.md). Without jemalloc (a machine without Debian's dev packages) the
# build uses glibc's malloc and says so.
add_library(greedyhash_allocator INTERFACE)
find_library(GREEDYHASH_JEMALLOC_LIBRARY jemalloc)
find_path(GREEDYHASH_JEMALLOC_INCLUDE_DIR jemalloc/jemalloc.h)
if(GREEDYHASH_JEMALLOC_LIBRARY AND GREEDYHASH_JEMALLOC_INCLUDE_DIR)
  # Interface sources are compiled into each executable that links the library: the
  # malloc_conf symbol jemalloc reads must be defined by the program itself.
  target_sources(greedyhash_allocator
                 INTERFACE "${PROJECT_SOURCE_DIR}/src/allocator/jemalloc_settings.cpp")
  target_include_directories(greedyhash_allocator SYSTEM
                             INTERFACE "${GREEDYHASH_JEMALLOC_INCLUDE_DIR}")
  target_link_libraries(greedyhash_allocator INTERFACE "${GREEDYHASH_JEMALLOC_LIBRARY}")
  target_compile_definitions(greedyhash_allocator INTERFACE GREEDYHASH_WITH_JEMALLOC)
  message(STATUS "greedyhash: allocating through jemalloc (${GREEDYHASH_JEMALLOC_LIBRARY})")
else()
  target_sources(greedyhash_allocator
                 INTERFACE "${PROJECT_SOURCE_DIR}/src/allocator/glibc_settings.cpp")
  message(STATUS "greedyhash: no jemalloc (Debian: libjemalloc-dev); glibc's malloc, which "
                 "slows training at 224 px several times")
endif()
