#pragma once

#include <ATen/core/ivalue.h>
#include <torch/ordered_dict.h>

#include <filesystem>
#include <string>

namespace greedyhash {

// The top-level dictionary of a torch.save file, in file order.
using TorchSaveDict = torch::OrderedDict<std::string, c10::IValue>;

enum class TensorData {
  kLoad,        // tensors hold the file's data (CPU)
  kShapesOnly,  // tensors live on the meta device: dtype, sizes and strides, no data read
};

// Reads a file written by Python's torch.save (the zip format of PyTorch >= 1.6 or the
// legacy one before it) or by write_torch_save_dict, whose top-level object is a dict
// (or OrderedDict) with string keys. Values come back as tensors (CPU, sharing storage where the
// file shares it), ints, doubles, bools, strings, None, and lists, tuples and dicts of these.
//
// This is a small pickle reader of its own rather than torch::pickle_load or
// torch::jit::Unpickler: LibTorch's unpickler replaces every collections.OrderedDict by
// None before any type resolver is asked (it expects one only as a tensor's empty
// backward-hook table), so a state dict fails with an internal assertion (checked with
// 1.13). Anything that is not plain data (a pickled nn.Module, a custom class) is
// rejected.
//
// Any file gives a value or one of these errors (greedyhash::Error, one line naming the
// file): unreadable file, neither format, a truncated or corrupt file (the zip records'
// CRC-32 are checked), a compressed zip record, a TorchScript archive, a top-level object
// that is not a dict with string keys, unsupported pickle content, lists, tuples or dicts
// nested more than 1000 deep or containing themselves. Nothing is allocated beyond what
// the file can hold: sizes it claims are checked against its length first.
TorchSaveDict read_torch_save_dict(const std::filesystem::path& file,
                                   TensorData tensors = TensorData::kLoad);

// Serialises `entries` in the format of Python's torch.save for a dict of them (pickle
// protocol 2 in a zip archive), so `torch.load(file)` (also with weights_only=True)
// returns a plain dict in the same order. Values may be tensors (any device; stored
// contiguous, on CPU), ints, doubles, bools, strings or None; anything else throws
// std::invalid_argument (a programming error).
std::string torch_save_bytes(const TorchSaveDict& entries);

// The same bytes written with write_file_atomically as they are made: the file is never
// whole in memory.
void write_torch_save_dict(const std::filesystem::path& file, const TorchSaveDict& entries);

}  // namespace greedyhash
