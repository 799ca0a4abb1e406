# greedyhash_target(<target>): the compile settings every target of ours shares.
# Warnings (and -Werror) apply to our sources only: third-party headers come in
# through imported targets, whose include directories CMake marks as SYSTEM.

function(greedyhash_target target)
  target_compile_features(${target} PRIVATE cxx_std_17)
  if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow
                                             -Wnon-virtual-dtor -Wno-unused-parameter)
    if(GREEDYHASH_WERROR)
      target_compile_options(${target} PRIVATE -Werror)
    endif()
  endif()
  # All our executables reuse the library's precompiled torch header: one PCH build
  # per configuration instead of one per target.
  if(GREEDYHASH_PCH AND NOT target STREQUAL "greedyhash")
    target_precompile_headers(${target} REUSE_FROM greedyhash)
  endif()
  if(GREEDYHASH_PCH)
    greedyhash_pch_only_where_torch_is_included(${target})
  endif()
endfunction()

# Loading the 570 MB precompiled <torch/torch.h> costs a translation unit about 15 s of
# CPU; one that includes <torch/torch.h> saves more than that, one that does not (most
# of ours include at most <ATen/core/Tensor.h>) only loses it. So only the sources that
# include <torch/torch.h> use the precompiled header.
function(greedyhash_pch_only_where_torch_is_included target)
  get_target_property(sources ${target} SOURCES)
  get_target_property(source_dir ${target} SOURCE_DIR)
  foreach(source IN LISTS sources)
    if(NOT source MATCHES "\\.cpp$")
      continue()
    endif()
    if(NOT IS_ABSOLUTE "${source}")
      set(source "${source_dir}/${source}")
    endif()
    file(STRINGS "${source}" torch_include REGEX "^#include <torch/torch\\.h>")
    if(NOT torch_include)
      set_source_files_properties("${source}" TARGET_DIRECTORY ${target}
                                  PROPERTIES SKIP_PRECOMPILE_HEADERS ON)
    endif()
  endforeach()
endfunction()
