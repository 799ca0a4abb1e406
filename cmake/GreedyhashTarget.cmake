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
endfunction()
