#include "pickled_value.h"

namespace greedyhash::detail {

PickledValuePtr make_pickled(PickledValue::Kind kind) {
  auto value = std::make_shared<PickledValue>();
  value->kind = kind;
  return value;
}

PickledValuePtr make_storage(at::Tensor flat) {
  auto value = make_pickled(PickledValue::Kind::kStorage);
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
