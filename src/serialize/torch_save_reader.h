#pragma once

#include "byte_source.h"
#include "greedyhash/serialize/torch_save_file.h"

namespace greedyhash::detail {

// read_torch_save_dict of a file or of bytes in memory (the fuzz targets' way in).
TorchSaveDict read_torch_save_dict(const ByteSource& source, TensorData tensors);

}  // namespace greedyhash::detail
