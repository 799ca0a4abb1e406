#include "greedyhash/data/data_dir.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "greedyhash/error.h"
#include "greedyhash/serialize/atomic_file.h"
#include "greedyhash/serialize/sha256.h"

extern char** environ;

namespace greedyhash {

namespace {

namespace fs = std::filesystem;

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() > suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Steps through folders that hold nothing but one sub-folder.
fs::path data_root(fs::path folder) {
  for (;;) {
    fs::path only;
    int entries = 0;
    for (const auto& entry : fs::directory_iterator(folder)) {
      if (entry.path().filename().string().rfind('.', 0) == 0) continue;
      ++entries;
      only = entry.path();
    }
    if (entries != 1 || !fs::is_directory(only)) return folder;
    folder = only;
  }
}

struct TarResult {
  int status = -1;    // tar's exit status; -1 when it could not be run or was killed
  std::string error;  // first line tar wrote to stderr
};

// Runs `tar xzf archive -C folder`, collecting its stderr for the error message.
TarResult run_tar(const fs::path& archive, const fs::path& folder) {
  TarResult result;
  std::vector<std::string> args = {"tar", "xzf", archive.string(), "-C", folder.string()};
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  int err_pipe[2];
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) return result;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], STDERR_FILENO);
  pid_t pid = 0;
  const int spawned = ::posix_spawnp(&pid, "tar", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(err_pipe[1]);
  std::string messages;
  if (spawned == 0) {
    char chunk[4096];
    for (;;) {
      const ssize_t n = ::read(err_pipe[0], chunk, sizeof(chunk));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      messages.append(chunk, static_cast<size_t>(n));
    }
  }
  ::close(err_pipe[0]);
  if (spawned != 0) return result;
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return result;
  }
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::istringstream lines(messages);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty()) {
      result.error = line;
      break;
    }
  }
  return result;
}

// The archive's SHA-256, remembered in cache_dir/.digests/ under a name derived from the
// archive's absolute path, size and modification time: hashed again only when one changes.
std::string archive_digest(const fs::path& archive, const fs::path& cache_dir) {
  const fs::path absolute = fs::absolute(archive).lexically_normal();
  const std::string identity =
      absolute.string() + "\n" + std::to_string(fs::file_size(absolute)) + "\n" +
      std::to_string(fs::last_write_time(absolute).time_since_epoch().count());
  const fs::path remembered = cache_dir / ".digests" / sha256_hex(identity).substr(0, 32);
  std::string digest;
  if (std::ifstream(remembered) >> digest && digest.size() == 64) return digest;
  digest = file_sha256_hex(absolute);
  std::error_code ec;
  fs::create_directories(remembered.parent_path(), ec);
  // Remembering is an optimisation: a cache folder that cannot take it only costs a rehash.
  try {
    write_file_atomically(remembered, digest);
  } catch (const Error&) {
  }
  return digest;
}

}  // namespace

fs::path resolve_data_dir(const fs::path& path, const fs::path& cache_dir) {
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    throw Error("data path " + path.string() +
                " does not exist; expected a folder or a .tar.gz/.tgz archive");
  }
  if (fs::is_directory(path)) return path;

  const std::string name = path.filename().string();
  std::string stem;
  if (ends_with(name, ".tar.gz")) {
    stem = name.substr(0, name.size() - 7);
  } else if (ends_with(name, ".tgz")) {
    stem = name.substr(0, name.size() - 4);
  } else {
    throw Error("data path " + path.string() +
                " is a file but not a .tar.gz/.tgz archive; expected a folder or an archive");
  }
  fs::create_directories(cache_dir, ec);
  if (ec) throw Error("cannot create cache folder " + cache_dir.string() + ": " + ec.message());
  const fs::path target = cache_dir / (stem + "-" + archive_digest(path, cache_dir).substr(0, 16));
  if (fs::is_directory(target)) return data_root(target);
  std::string temp = (cache_dir / ("." + stem + ".partial-XXXXXX")).string();
  if (::mkdtemp(temp.data()) == nullptr) {
    throw Error("cannot create a folder in " + cache_dir.string() + ": " + std::strerror(errno));
  }
  const auto tar = run_tar(path, temp);
  if (tar.status != 0) {
    fs::remove_all(temp, ec);
    throw Error("cannot unpack " + path.string() + " into " + cache_dir.string() + ": tar " +
                (tar.status < 0 ? std::string("could not be run or was killed")
                                : "exited with status " + std::to_string(tar.status)) +
                (tar.error.empty() ? "" : " (" + tar.error + ")") +
                "; expected a readable .tar.gz archive");
  }
  if (::rename(temp.c_str(), target.c_str()) != 0) {
    const int error = errno;
    fs::remove_all(temp, ec);
    // Another process may have finished the same unpack first; its result is as good.
    if (!fs::is_directory(target)) {
      throw Error("cannot move the unpacked " + path.string() + " to " + target.string() + ": " +
                  std::strerror(error));
    }
  }
  return data_root(target);
}

}  // namespace greedyhash
