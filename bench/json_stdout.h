// For benchmarks whose stdout carries one JSON object alone: the library prints progress
// lines on stdout, so from construction on they go to stderr, and write() puts the JSON
// on the original stdout.
#pragma once

#include <unistd.h>

#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

class JsonStdout {
 public:
  JsonStdout() {
    std::fflush(stdout);
    fd_ = ::dup(STDOUT_FILENO);
    ::dup2(STDERR_FILENO, STDOUT_FILENO);
  }

  // Whether the whole object was written.
  bool write(const nlohmann::json& out) const {
    const std::string text = out.dump() + "\n";
    std::fflush(stdout);
    return ::write(fd_, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  }

 private:
  int fd_;
};
