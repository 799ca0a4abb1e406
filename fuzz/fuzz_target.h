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
#include <system_error>

#include "greedyhash/error.h"

namespace greedyhash::fuzz {

// The file of this process's own (in /dev/shm when there is one) that each input is
// written to, for the readers that take a path. Removed when the process exits
// (libFuzzer ends with exit(), which runs the destructors of statics).
class InputFile {
 public:
  explicit InputFile(const char* name)
      : path_((std::filesystem::is_directory("/dev/shm") ? std::filesystem::path("/dev/shm")
                                                         : std::filesystem::temp_directory_path()) /
              ("greedyhash_fuzz_" + std::to_string(::getpid()) + "_" + name)) {}
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;
  ~InputFile() {
    std::error_code ignored;
    std::filesystem::remove(path_, ignored);
  }

  const std::filesystem::path& write(const uint8_t* data, size_t size) const {
    std::ofstream(path_, std::ios::binary | std::ios::trunc)
        .write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    return path_;
  }

 private:
  std::filesystem::path path_;
};

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
