#include "greedyhash/serialize/zip_sink.h"

#include <algorithm>
#include <array>
#include <exception>

namespace greedyhash {

void write_zip_to_sink(const ByteSink& sink,
                       const std::function<void(const ZipWriterFunction&)>& write) {
  std::exception_ptr sink_error;
  // After the sink fails, the rest is taken and dropped: a short write would make the zip
  // writer throw, and its destructor throws again while finishing the archive (terminate).
  const ZipWriterFunction writer = [&](const void* data, size_t size) -> size_t {
    if (sink_error) return size;
    try {
      if (data != nullptr) {
        sink(static_cast<const char*>(data), size);
        return size;
      }
      static const std::array<char, 4096> kZeros{};
      for (size_t done = 0; done < size;) {
        const size_t n = std::min(size - done, kZeros.size());
        sink(kZeros.data(), n);
        done += n;
      }
      return size;
    } catch (...) {
      sink_error = std::current_exception();
      return size;
    }
  };
  write(writer);
  if (sink_error) std::rethrow_exception(sink_error);
}

}  // namespace greedyhash
