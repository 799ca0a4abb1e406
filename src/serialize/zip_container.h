#pragma once

#include <filesystem>

#include "greedyhash/serialize/torch_save_file.h"
#include "pickled_value.h"

namespace greedyhash::detail {

// The object of a torch.save file in the zip format (PyTorch >= 1.6): data.pkl, and
// each storage as a record data/<key>. Tensors share the records' buffers.
PickledValuePtr read_zip_root(const std::filesystem::path& file, TensorData tensors);

}  // namespace greedyhash::detail
