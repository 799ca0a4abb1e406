#include <ATen/ATen.h>
#include <caffe2/serialize/inline_container.h>

#include <string>

#include "greedyhash/serialize/atomic_file.h"
#include "greedyhash/serialize/torch_save_file.h"
#include "pickle_writer.h"

namespace greedyhash {

std::string torch_save_bytes(const TorchSaveDict& entries) {
  detail::PickleWriter pickler;
  pickler.begin_dict();
  for (const auto& item : entries) {
    pickler.string(item.key());
    pickler.value(item.value(), item.key());
  }
  pickler.end_dict();

  std::string archive_bytes;
  {
    caffe2::serialize::PyTorchStreamWriter writer([&](const void* buf, size_t n) -> size_t {
      // A null buffer asks to skip n bytes; in a fresh buffer that means zeros.
      if (buf == nullptr) {
        archive_bytes.append(n, '\0');
      } else {
        archive_bytes.append(static_cast<const char*>(buf), n);
      }
      return n;
    });
    writer.writeRecord("data.pkl", pickler.bytes().data(), pickler.bytes().size());
    writer.writeRecord("byteorder", "little", 6);
    static const char kNothing = 0;
    const auto& storages = pickler.storages();
    for (size_t i = 0; i < storages.size(); ++i) {
      const auto& data = storages[i];
      const size_t nbytes = data.numel() * data.element_size();
      writer.writeRecord("data/" + std::to_string(i), nbytes > 0 ? data.data_ptr() : &kNothing,
                         nbytes);
    }
    writer.writeEndOfFile();
  }
  return archive_bytes;
}

void write_torch_save_dict(const std::filesystem::path& file, const TorchSaveDict& entries) {
  write_file_atomically(file, torch_save_bytes(entries));
}

}  // namespace greedyhash
