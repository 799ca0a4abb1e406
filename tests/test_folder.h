#pragma once

#include <unistd.h>

#include <filesystem>
#include <string>

namespace greedyhash {

// A scratch folder of this test process's own. ctest runs every test case as a separate
// process, in parallel: names shared between processes would let one test's clean-up
// delete another's files.
inline std::filesystem::path test_folder(const std::string& name) {
  return std::filesystem::temp_directory_path() /
         ("greedyhash_" + name + "_" + std::to_string(::getpid()));
}

}  // namespace greedyhash
