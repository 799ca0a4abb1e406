#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "greedyhash/error.h"

namespace greedyhash {

// Sets an environment variable for one scope (unset when `value` is null), then puts
// back what was there.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value != nullptr) {
      ::setenv(name, value, 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// The scratch folders a test process made, removed when it exits if every test passed
// (kept for inspection if not): their names hold the process id, so nothing else would
// ever remove them and they piled up in /tmp, run after run.
class ScratchFolders {
 public:
  static void add(const std::filesystem::path& folder) {
    static ScratchFolders folders;
    folders.paths_.push_back(folder);
  }
  ScratchFolders(const ScratchFolders&) = delete;
  ScratchFolders& operator=(const ScratchFolders&) = delete;

 private:
  ScratchFolders() = default;
  // A static's destructor: runs at exit, also in a forked child that exits normally,
  // which must leave its parent's folders alone.
  ~ScratchFolders() {
    if (::getpid() != owner_) return;
    const bool passed = ::testing::UnitTest::GetInstance()->Passed();
    for (const auto& folder : paths_) {
      std::error_code ignored;
      if (passed) {
        std::filesystem::remove_all(folder, ignored);
      } else if (std::filesystem::exists(folder, ignored)) {
        std::fprintf(stderr, "kept for inspection: %s\n", folder.c_str());
      }
    }
  }

  const pid_t owner_ = ::getpid();
  std::vector<std::filesystem::path> paths_;
};

// A scratch folder of this test process's own. ctest runs every test case as a separate
// process, in parallel: names shared between processes would let one test's clean-up
// delete another's files.
inline std::filesystem::path test_folder(const std::string& name) {
  auto folder = std::filesystem::temp_directory_path() /
                ("greedyhash_" + name + "_" + std::to_string(::getpid()));
  ScratchFolders::add(folder);
  return folder;
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

// True when /usr/bin/python3 finds every module named (a space-separated list). Finding
// is enough: importing torch takes seconds. Tests that compare with Python skip without.
inline bool python_has_modules(const std::string& modules) {
  std::string check =
      "import importlib.util as u, sys; sys.exit(any(u.find_spec(m) is None "
      "for m in '" +
      modules + "'.split()))";
  return std::system(("/usr/bin/python3 -c \"" + check + "\" >/dev/null 2>&1").c_str()) == 0;
}

// Runs /usr/bin/python3 on `script` (saved as folder/script.py) with `args`; returns the
// exit status and leaves stdout and stderr in `output`.
inline int run_python(const std::filesystem::path& folder, const std::string& script,
                      const std::string& args, std::string& output) {
  std::ofstream(folder / "script.py", std::ios::binary) << script;
  const std::string command = "/usr/bin/python3 " + (folder / "script.py").string() + " " + args +
                              " >" + (folder / "python.log").string() + " 2>&1";
  const int status = std::system(command.c_str());
  output = read_file_bytes(folder / "python.log");
  return status;
}

// The message of f(), which must throw greedyhash::Error with a one-line message (a test
// failure otherwise; "" when nothing was thrown).
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    return message;
  }
  ADD_FAILURE() << "expected greedyhash::Error";
  return "";
}

// action() must throw greedyhash::Error with a one-line message containing every part.
inline void expect_error(const std::function<void()>& action,
                         const std::vector<std::string>& parts) {
  const std::string message = error_of(action);
  for (const auto& part : parts) {
    EXPECT_NE(message.find(part), std::string::npos) << "'" << part << "' not in: " << message;
  }
}

inline void expect_error_containing(const std::function<void()>& action, const std::string& part) {
  expect_error(action, {part});
}

}  // namespace greedyhash
