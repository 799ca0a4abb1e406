#pragma once

#include <ATen/core/Tensor.h>
#include <torch/ordered_dict.h>

#include <filesystem>
#include <string>

#include "greedyhash/serialize/torch_save_file.h"

namespace greedyhash {

// name -> tensor, in file order (a PyTorch state dict).
using StateDict = torch::OrderedDict<std::string, at::Tensor>;

// The tensor entries of read_torch_save_dict (other entries, such as a checkpoint's
// metadata, are skipped). A file without any tensor entry is an error.
StateDict read_state_dict(const std::filesystem::path& file,
                          TensorData tensors = TensorData::kLoad);

// Copies source[name] into target for every (name, target) of `targets`, in place and
// without recording gradients; dtype and device are converted. A name missing from
// `source`, or a shape that differs, throws greedyhash::Error naming `file`, the key and
// both shapes. Entries of `source` not in `targets` are ignored.
void copy_named_tensors(const StateDict& source, const StateDict& targets,
                        const std::filesystem::path& file);

}  // namespace greedyhash
