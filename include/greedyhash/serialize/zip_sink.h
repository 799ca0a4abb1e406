#pragma once

#include <cstddef>
#include <functional>

#include "greedyhash/serialize/atomic_file.h"

namespace greedyhash {

// LibTorch's zip writers (caffe2::serialize::PyTorchStreamWriter and
// torch::serialize::OutputArchive::save_to) take a function that consumes bytes and returns
// how many it took; a null pointer asks for that many zero bytes (padding).
using ZipWriterFunction = std::function<size_t(const void* data, size_t size)>;

// Calls `write` with a writer function that passes the bytes on to `sink`. An exception
// from the sink is not thrown through the zip library's C code: the writer function takes
// and drops the remaining bytes, and the sink's exception is rethrown once `write` returns.
void write_zip_to_sink(const ByteSink& sink,
                       const std::function<void(const ZipWriterFunction&)>& write);

}  // namespace greedyhash
