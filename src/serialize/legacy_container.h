#pragma once

#include "byte_source.h"
#include "greedyhash/serialize/torch_save_file.h"
#include "pickled_value.h"

namespace greedyhash::detail {

// The object of a torch.save file in the legacy format (PyTorch < 1.6; files published
// before 2021 use it): pickles of a magic number, the protocol version, system
// information, the object itself and the list of storage keys, then each storage as an
// int64 element count and its raw bytes. The values belong to `values`.
PickledValue* read_legacy_root(const ByteSource& source, TensorData tensors, PickledValues& values);

}  // namespace greedyhash::detail
