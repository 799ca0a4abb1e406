#include "ivalue_conversion.h"

#include <utility>
#include <vector>

#include "greedyhash/error.h"

namespace greedyhash::detail {

c10::IValue to_ivalue(const PickledValue& value, const std::string& file) {
  switch (value.kind) {
    case PickledValue::Kind::kNone:
      return c10::IValue();
    case PickledValue::Kind::kBool:
      return c10::IValue(value.boolean);
    case PickledValue::Kind::kInt:
      return c10::IValue(value.integer);
    case PickledValue::Kind::kFloat:
      return c10::IValue(value.real);
    case PickledValue::Kind::kString:
      return c10::IValue(value.text);
    case PickledValue::Kind::kTensor:
      return c10::IValue(value.tensor);
    case PickledValue::Kind::kTuple: {
      std::vector<c10::IValue> items;
      for (const auto& item : value.items) items.push_back(to_ivalue(*item, file));
      return c10::ivalue::Tuple::create(std::move(items));
    }
    case PickledValue::Kind::kList: {
      c10::impl::GenericList list(c10::AnyType::get());
      for (const auto& item : value.items) list.push_back(to_ivalue(*item, file));
      return list;
    }
    case PickledValue::Kind::kDict: {
      c10::impl::GenericDict dict(c10::AnyType::get(), c10::AnyType::get());
      for (const auto& [key, item] : value.entries) {
        dict.insert_or_assign(to_ivalue(*key, file), to_ivalue(*item, file));
      }
      return dict;
    }
    case PickledValue::Kind::kGlobal:
    case PickledValue::Kind::kStorage:
      break;
  }
  throw Error(file + ": holds a bare " + kind_name(value.kind) +
              "; only tensors and plain values (a state dict) can be read");
}

}  // namespace greedyhash::detail
