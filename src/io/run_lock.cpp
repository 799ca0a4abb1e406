#include "greedyhash/io/run_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <string>

#include "greedyhash/error.h"

namespace greedyhash {

namespace {

std::string holder_description() {
  char host[256] = "?";
  ::gethostname(host, sizeof host - 1);
  char started[32] = "?";
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  if (::localtime_r(&now, &local) != nullptr) {
    std::strftime(started, sizeof started, "%Y-%m-%d %H:%M:%S", &local);
  }
  return "process " + std::to_string(::getpid()) + " on " + host + ", started " + started;
}

std::string read_holder(int fd) {
  char text[512] = {};
  const ssize_t n = ::pread(fd, text, sizeof text - 1, 0);
  std::string holder = n > 0 ? std::string(text, static_cast<size_t>(n)) : "";
  holder = holder.substr(0, holder.find('\n'));
  return holder.empty() ? "a process that has not recorded itself yet" : holder;
}

}  // namespace

RunFolderLock::RunFolderLock(const std::filesystem::path& lock_file) {
  std::error_code ec;
  std::filesystem::create_directories(lock_file.parent_path(), ec);
  fd_ = ::open(lock_file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    throw Error("cannot open the lock file " + lock_file.string() + ": " + std::strerror(errno) +
                "; check the permissions of the run folder");
  }
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    const std::string holder = error == EWOULDBLOCK ? read_holder(fd_) : std::strerror(error);
    ::close(fd_);
    fd_ = -1;
    throw Error("run folder " + lock_file.parent_path().string() +
                " is being written by another training run (" + holder +
                "); wait for it to end or pass another --output-dir");
  }
  const std::string holder = holder_description() + "\n";
  if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, holder.data(), holder.size(), 0) < 0) {
    // The lock itself is held; only the note for others is missing.
  }
}

RunFolderLock::~RunFolderLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the flock
}

}  // namespace greedyhash
