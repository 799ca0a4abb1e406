#pragma once

// What every target checks: the reader returns, or throws greedyhash::Error with a
// one-line message naming the input; anything else (another exception, a crash, a
// sanitizer report, a leak) is a finding.

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "greedyhash/error.h"

namespace greedyhash::fuzz {

// The input as a file of this process's own (in /dev/shm when there is one), for the
// readers that take a path.
inline std::filesystem::path input_file(const uint8_t* data, size_t size, const char* name) {
  static const std::filesystem::path folder = std::filesystem::is_directory("/dev/shm")
                                                  ? "/dev/shm"
                                                  : std::filesystem::temp_directory_path();
  const auto file = folder / ("greedyhash_fuzz_" + std::to_string(::getpid()) + "_" + name);
  std::ofstream(file, std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  return file;
}

// Runs `read`; a greedyhash::Error must be one line that contains `name`.
template <typename F>
void expect_value_or_error(const std::string& name, F&& read) {
  try {
    read();
  } catch (const Error& e) {
    const std::string message = e.what();
    if (message.find('\n') != std::string::npos || message.find(name) == std::string::npos) {
      std::fprintf(stderr, "bad error message (not one line naming %s): %s\n", name.c_str(),
                   message.c_str());
      std::abort();
    }
  }
}

}  // namespace greedyhash::fuzz
