# GoogleTest for the test executables: the installed package, or, with
# GREEDYHASH_GOOGLETEST_SOURCE, built here from a copy of its sources with LibTorch's C++
# flags, so that it shares the C++ ABI (_GLIBCXX_USE_CXX11_ABI) of whatever LibTorch is
# used, a PyTorch wheel's included (bench/gpu_check.sh).

if(GREEDYHASH_GOOGLETEST_SOURCE)
  if(NOT EXISTS "${GREEDYHASH_GOOGLETEST_SOURCE}/googletest/CMakeLists.txt")
    message(FATAL_ERROR "GREEDYHASH_GOOGLETEST_SOURCE=${GREEDYHASH_GOOGLETEST_SOURCE} is not a "
                        "GoogleTest source folder (Debian: /usr/src/googletest)")
  endif()
  set(BUILD_GMOCK OFF CACHE BOOL "" FORCE)
  set(INSTALL_GTEST OFF CACHE BOOL "" FORCE)
  add_subdirectory("${GREEDYHASH_GOOGLETEST_SOURCE}" "${CMAKE_BINARY_DIR}/googletest"
                   EXCLUDE_FROM_ALL)
  separate_arguments(greedyhash_torch_cxx_flags UNIX_COMMAND "${TORCH_CXX_FLAGS}")
  foreach(target gtest gtest_main)
    target_compile_options(${target} PRIVATE ${greedyhash_torch_cxx_flags})
    if(NOT TARGET GTest::${target})  # GoogleTest 1.11 and later define these
      add_library(GTest::${target} ALIAS ${target})
    endif()
  endforeach()
else()
  find_package(GTest REQUIRED)
endif()
