#pragma once

#include "byte_source.h"
#include "greedyhash/serialize/torch_save_file.h"
#include "pickled_value.h"

namespace greedyhash::detail {

// The object of a torch.save file in the zip format (PyTorch >= 1.6): data.pkl, and
// each storage as a record data/<key> of exactly its size. The values belong to `values`.
PickledValue* read_zip_root(const ByteSource& source, TensorData tensors, PickledValues& values);

}  // namespace greedyhash::detail
