#include <ATen/ATen.h>
#include <caffe2/serialize/inline_container.h>

#include <string>

#include "greedyhash/serialize/atomic_file.h"
#include "greedyhash/serialize/torch_save_file.h"
#include "greedyhash/serialize/zip_sink.h"
#include "pickle_writer.h"

namespace greedyhash {

namespace {

// The torch.save zip archive of `entries`, handed to `sink` as it is made.
void write_torch_save(const TorchSaveDict& entries, const ByteSink& sink) {
  detail::PickleWriter pickler;
  pickler.begin_dict();
  for (const auto& item : entries) {
    pickler.string(item.key());
    pickler.value(item.value(), item.key());
  }
  pickler.end_dict();

  write_zip_to_sink(sink, [&](const ZipWriterFunction& writer_function) {
    caffe2::serialize::PyTorchStreamWriter writer(writer_function);
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
  });
}

}  // namespace

std::string torch_save_bytes(const TorchSaveDict& entries) {
  std::string bytes;
  write_torch_save(entries, [&](const char* data, size_t size) { bytes.append(data, size); });
  return bytes;
}

void write_torch_save_dict(const std::filesystem::path& file, const TorchSaveDict& entries) {
  write_file_atomically(file, [&](const ByteSink& sink) { write_torch_save(entries, sink); });
}

}  // namespace greedyhash
