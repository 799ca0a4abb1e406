#include "ivalue_conversion.h"

#include <ATen/core/ivalue.h>

#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include "greedyhash/error.h"

namespace greedyhash::detail {

namespace {

using K = PickledValue::Kind;

class Converter {
 public:
  explicit Converter(const std::string& file) : file_(file) {}

  c10::IValue convert(const PickledValue& value, size_t depth) {
    switch (value.kind) {
      case K::kNone:
        return c10::IValue();
      case K::kBool:
        return c10::IValue(value.boolean);
      case K::kInt:
        return c10::IValue(value.integer);
      case K::kFloat:
        return c10::IValue(value.real);
      case K::kTensor:
        return c10::IValue(value.tensor);
      case K::kString:
      case K::kTuple:
      case K::kList:
      case K::kDict:
        return shared(value, depth);
      case K::kGlobal:
      case K::kStorage:
        break;
    }
    throw Error(file_ + ": holds a bare " + kind_name(value.kind) +
                "; only tensors and plain values (a state dict) can be read");
  }

 private:
  // Strings and containers, converted once however often the pickle refers to them.
  c10::IValue shared(const PickledValue& value, size_t depth) {
    const auto [it, first_visit] = done_.try_emplace(&value);
    if (!first_visit) {
      if (!it->second) {
        throw Error(file_ + ": holds a " + kind_name(value.kind) +
                    " that contains itself; only plain data (a state dict) can be read");
      }
      return *it->second;
    }
    if (value.kind == K::kString) return *(it->second = c10::IValue(value.text));
    if (depth >= kMaxNesting) {
      throw Error(file_ + ": nests lists, tuples or dicts more than " +
                  std::to_string(kMaxNesting) + " deep; a state dict nests a few levels");
    }
    c10::IValue result = container(value, depth + 1);
    done_[&value] = result;  // `it` may be stale after the recursion
    return result;
  }

  c10::IValue container(const PickledValue& value, size_t depth) {
    if (value.kind == K::kTuple) {
      std::vector<c10::IValue> items;
      for (const PickledValue* item : value.items) items.push_back(convert(*item, depth));
      return c10::ivalue::Tuple::create(std::move(items));
    }
    if (value.kind == K::kList) {
      c10::impl::GenericList list(c10::AnyType::get());
      for (const PickledValue* item : value.items) list.push_back(convert(*item, depth));
      return list;
    }
    c10::impl::GenericDict dict(c10::AnyType::get(), c10::AnyType::get());
    for (const auto& [key, item] : value.entries) {
      dict.insert_or_assign(convert(*key, depth), convert(*item, depth));
    }
    return dict;
  }

  const std::string& file_;
  // Strings and containers converted or under way (nullopt: meeting one of those again
  // means it contains itself).
  std::unordered_map<const PickledValue*, std::optional<c10::IValue>> done_;
};

}  // namespace

TorchSaveDict to_torch_save_dict(const PickledValue& root, const std::string& file) {
  if (root.kind != K::kDict) {
    throw Error(file + ": holds a " + kind_name(root.kind) + ", expected a dict (a state dict)");
  }
  Converter converter(file);
  TorchSaveDict result("Entry");
  for (const auto& [key, value] : root.entries) {
    if (key->kind != K::kString) {
      throw Error(file + ": has a key of type " + std::string(kind_name(key->kind)) +
                  ", expected string keys (a state dict)");
    }
    result.insert(key->text, converter.convert(*value, 0));
  }
  return result;
}

}  // namespace greedyhash::detail
