# Compiles through ccache when it is installed (scripts/install_deps.sh installs it): a
# rebuild, or a fresh clone on the same machine, then takes a fraction of a cold build.
# The sloppiness lets ccache cache the sources compiled with our precompiled header; the
# base directory makes paths inside the checkout relative, so that a clone in another
# folder finds the entries an earlier build left.
option(GREEDYHASH_CCACHE "Compile through ccache when it is installed" ON)
if(GREEDYHASH_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  find_program(GREEDYHASH_CCACHE_PROGRAM ccache)
  if(GREEDYHASH_CCACHE_PROGRAM)
    set(CMAKE_CXX_COMPILER_LAUNCHER
        "${CMAKE_COMMAND}" -E env
        "CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime"
        "CCACHE_BASEDIR=${PROJECT_SOURCE_DIR}" "${GREEDYHASH_CCACHE_PROGRAM}")
  endif()
endif()
