#pragma once

#include <cstddef>
#include <string>

#include "greedyhash/serialize/torch_save_file.h"
#include "pickled_value.h"

namespace greedyhash::detail {

// How deeply tuples, lists and dicts may nest below the top-level dict. A state dict
// nests one level, an optimizer's state four, a config a few more. Python's pickler
// cannot write data nested much deeper than its recursion limit (1000 by default), so
// every such file Python writes is read. The bound keeps the recursive conversion, and
// the destruction of the values it makes, within a small part of any thread's stack.
constexpr size_t kMaxNesting = 1000;

// The entries of `root`, a dict with string keys, as values: None, bool, int, double,
// string, tensor, or tuples, lists and dicts of these. A value reached twice (through the
// memo) is converted once and shared, as in Python: a pickle in which every list holds
// the previous one twice stays linear in time and memory. greedyhash::Error naming
// `file` for a root that is not such a dict, a bare class, function or storage, nesting
// deeper than kMaxNesting, or a list or dict that contains itself.
TorchSaveDict to_torch_save_dict(const PickledValue& root, const std::string& file);

}  // namespace greedyhash::detail
