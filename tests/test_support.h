#pragma once

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace greedyhash {

// A scratch folder of this test process's own. ctest runs every test case as a separate
// process, in parallel: names shared between processes would let one test's clean-up
// delete another's files.
inline std::filesystem::path test_folder(const std::string& name) {
  return std::filesystem::temp_directory_path() /
         ("greedyhash_" + name + "_" + std::to_string(::getpid()));
}

// test_folder(name), emptied and created.
inline std::filesystem::path fresh_test_folder(const std::string& name) {
  const auto folder = test_folder(name);
  std::filesystem::remove_all(folder);
  std::filesystem::create_directories(folder);
  return folder;
}

// The whole file as bytes ("" when it cannot be read).
inline std::string read_file_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace greedyhash
