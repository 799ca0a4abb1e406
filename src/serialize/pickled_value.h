#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace greedyhash::detail {

// One value of a pickle as the pickle machine builds it. Lists and dicts are shared
// through the memo and mutated in place, so values refer to each other by pointer; all
// of them belong to a PickledValues, never to each other, so no destructor follows a
// chain of values (a nesting a million deep, or a list holding itself, frees like a flat
// one).
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
  std::string text;                  // a string, or a global's "module.name"
  std::vector<PickledValue*> items;  // a tuple's or list's
  std::vector<std::pair<PickledValue*, PickledValue*>> entries;  // a dict's, in order
  // A dict's string and int keys -> position in entries (a later assignment to the same
  // key replaces the value, as in Python). The views point into the key values' text.
  struct KeyIndex {
    std::unordered_map<std::string_view, size_t> strings;
    std::unordered_map<int64_t, size_t> ints;
  };
  std::unique_ptr<KeyIndex> key_index;  // made with the first entry
  at::Tensor tensor;                    // a flat storage or a tensor
};

// Owns the values of the pickles of one file. Their addresses never change.
class PickledValues {
 public:
  PickledValue* make(PickledValue::Kind kind);
  // A storage value holding `flat`, a one-dimensional tensor of the storage's elements.
  PickledValue* make_storage(at::Tensor flat);

 private:
  std::deque<PickledValue> values_;
};

// "None", "int", "list", ... for messages.
const char* kind_name(PickledValue::Kind kind);

}  // namespace greedyhash::detail
