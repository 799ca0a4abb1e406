#include "byte_source.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "greedyhash/error.h"

namespace greedyhash::detail {

struct ByteSource::File {
  explicit File(int descriptor) : fd(descriptor) {}
  File(const File&) = delete;
  File& operator=(const File&) = delete;
  ~File() { ::close(fd); }
  int fd;
};

ByteSource ByteSource::open_file(const std::filesystem::path& file) {
  const std::string name = file.string();
  const int fd = ::open(name.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(name + ": cannot open (" + std::strerror(errno) + ")");
  auto owner = std::make_shared<File>(fd);
  struct stat info {};
  if (::fstat(fd, &info) != 0) throw Error(name + ": cannot read (" + std::strerror(errno) + ")");
  if (!S_ISREG(info.st_mode)) throw Error(name + ": not a regular file");
  ByteSource source(name, static_cast<uint64_t>(info.st_size));
  source.file_ = std::move(owner);
  return source;
}

ByteSource ByteSource::of_memory(std::string_view bytes, std::string name) {
  ByteSource source(std::move(name), bytes.size());
  source.memory_ = bytes;
  return source;
}

void ByteSource::check_range(uint64_t offset, size_t n) const {
  if (offset > size_ || n > size_ - offset) {
    throw Error(name_ + ": truncated file (needs " + std::to_string(n) + " bytes at offset " +
                std::to_string(offset) + ", has " + std::to_string(size_) + ")");
  }
}

void ByteSource::read(uint64_t offset, size_t n, void* out) const {
  check_range(offset, n);
  if (!file_) {
    if (n > 0) std::memcpy(out, memory_.data() + offset, n);
    return;
  }
  auto* dest = static_cast<char*>(out);
  while (n > 0) {
    const ssize_t got = ::pread(file_->fd, dest, n, static_cast<off_t>(offset));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) throw Error(name_ + ": read error (" + std::strerror(errno) + ")");
    // The file shrank since it was opened.
    if (got == 0) throw Error(name_ + ": truncated file (it changed while being read)");
    dest += got;
    offset += static_cast<uint64_t>(got);
    n -= static_cast<size_t>(got);
  }
}

std::string ByteSource::read(uint64_t offset, size_t n) const {
  check_range(offset, n);  // before allocating: a huge claimed length costs nothing
  std::string bytes(n, '\0');
  read(offset, n, bytes.data());
  return bytes;
}

}  // namespace greedyhash::detail
