#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace greedyhash::detail {

struct PickledValue;
using PickledValuePtr = std::shared_ptr<PickledValue>;

// One value of a pickle as the pickle machine builds it. Lists and dicts are shared
// through the memo and mutated in place, hence the shared pointers.
struct PickledValue {
  enum class Kind {
    kNone,
    kBool,
    kInt,
    kFloat,
    kString,
    kTuple,
    kList,
    kDict,
    kGlobal,
    kStorage,
    kTensor
  };
  Kind kind = Kind::kNone;
  bool boolean = false;
  int64_t integer = 0;
  double real = 0.0;
  std::string text;  // a string, or a global's "module.name"
  std::vector<PickledValuePtr> items;
  std::vector<std::pair<PickledValuePtr, PickledValuePtr>> entries;
  std::unordered_map<std::string, size_t> entry_index;  // string/int key -> entries position
  at::Tensor tensor;                                    // a flat storage or a tensor
};

PickledValuePtr make_pickled(PickledValue::Kind kind);

// A storage value holding `flat`, a one-dimensional tensor of the storage's elements.
PickledValuePtr make_storage(at::Tensor flat);

// "None", "int", "list", ... for messages.
const char* kind_name(PickledValue::Kind kind);

}  // namespace greedyhash::detail
