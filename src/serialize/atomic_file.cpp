#include "greedyhash/serialize/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <regex>
#include <string>

#include "greedyhash/error.h"

namespace greedyhash {

namespace {

std::string errno_text() {
  return std::strerror(errno);
}

}  // namespace

void write_file_atomically(const std::filesystem::path& path, std::string_view bytes) {
  write_file_atomically(path, [bytes](const ByteSink& sink) { sink(bytes.data(), bytes.size()); });
}

void write_file_atomically(const std::filesystem::path& path,
                           const std::function<void(const ByteSink&)>& produce) {
  const auto folder = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  std::error_code ec;
  std::filesystem::create_directories(folder, ec);
  if (ec) throw Error("cannot create folder " + folder.string() + ": " + ec.message());

  std::string temp = (folder / ("." + path.filename().string() + ".tmp-XXXXXX")).string();
  const int fd = ::mkstemp(temp.data());
  if (fd < 0) throw Error("cannot write " + path.string() + ": " + errno_text());

  const auto fail = [&](const std::string& what) {
    throw Error("cannot write " + path.string() + " (" + what + "): " + errno_text());
  };
  try {
    produce([&](const char* data, size_t size) {
      size_t written = 0;
      while (written < size) {
        const ssize_t n = ::write(fd, data + written, size - written);
        if (n < 0) {
          if (errno == EINTR) continue;
          fail("write");
        }
        written += static_cast<size_t>(n);
      }
    });
    // mkstemp creates 0600; results are meant to be shared, so make them world-readable
    // (reading the umask to do better would briefly change it for every thread).
    if (::fchmod(fd, 0644) != 0) fail("chmod");
    if (::fsync(fd) != 0) fail("fsync");
  } catch (...) {
    ::close(fd);
    ::unlink(temp.c_str());
    throw;
  }
  if (::close(fd) != 0) {
    const std::string reason = errno_text();
    ::unlink(temp.c_str());
    throw Error("cannot write " + path.string() + " (close): " + reason);
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    const std::string reason = errno_text();
    ::unlink(temp.c_str());
    throw Error("cannot write " + path.string() + " (rename): " + reason);
  }
  // The rename lives in the folder's own data: without this, a power cut can bring the
  // old file back (or none, for a new one) although the new data are on disk.
  const int folder_fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY);
  if (folder_fd < 0 || ::fsync(folder_fd) != 0) {
    const std::string reason = errno_text();
    if (folder_fd >= 0) ::close(folder_fd);
    throw Error("cannot write " + path.string() + " (fsync of its folder): " + reason);
  }
  ::close(folder_fd);
}

int remove_stale_temporary_files(const std::filesystem::path& folder) {
  static const std::regex temporary_name(R"(\..+\.tmp-[A-Za-z0-9]{6})");
  int removed = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(folder, ec)) {
    if (entry.is_regular_file(ec) &&
        std::regex_match(entry.path().filename().string(), temporary_name) &&
        std::filesystem::remove(entry.path(), ec)) {
      ++removed;
    }
  }
  return removed;
}

}  // namespace greedyhash
