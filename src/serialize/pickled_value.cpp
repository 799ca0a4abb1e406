#include "pickled_value.h"

namespace greedyhash::detail {

PickledValue* PickledValues::make(PickledValue::Kind kind) {
  values_.emplace_back();
  values_.back().kind = kind;
  return &values_.back();
}

PickledValue* PickledValues::make_storage(at::Tensor flat) {
  PickledValue* value = make(PickledValue::Kind::kStorage);
  value->tensor = std::move(flat);
  return value;
}

const char* kind_name(PickledValue::Kind kind) {
  static constexpr const char* kNames[] = {
      "None",    "bool",  "int", "float", "str", "tuple", "list", "dict", "class or function",
      "storage", "tensor"};
  return kNames[static_cast<size_t>(kind)];
}

}  // namespace greedyhash::detail
