#include "torch_storage.h"

#include <array>
#include <utility>

#include "greedyhash/error.h"

namespace greedyhash::detail {

namespace {

// Storage classes as torch.save names them (torch.<Name>), per element type.
constexpr std::array<std::pair<const char*, at::ScalarType>, 12> kStorageTypes{{
    {"FloatStorage", at::kFloat},
    {"DoubleStorage", at::kDouble},
    {"HalfStorage", at::kHalf},
    {"BFloat16Storage", at::kBFloat16},
    {"LongStorage", at::kLong},
    {"IntStorage", at::kInt},
    {"ShortStorage", at::kShort},
    {"CharStorage", at::kChar},
    {"ByteStorage", at::kByte},
    {"BoolStorage", at::kBool},
    {"ComplexFloatStorage", at::kComplexFloat},
    {"ComplexDoubleStorage", at::kComplexDouble},
}};

}  // namespace

const char* storage_type_name(at::ScalarType dtype) {
  for (const auto& [name, type] : kStorageTypes) {
    if (type == dtype) return name;
  }
  return nullptr;
}

std::optional<at::ScalarType> storage_dtype(const std::string& global_name) {
  if (global_name == "torch.UntypedStorage") return at::kByte;
  for (const auto& [name, dtype] : kStorageTypes) {
    if (global_name == std::string("torch.") + name) return dtype;
  }
  return std::nullopt;
}

StorageRef parse_storage_ref(const PickledValue& pid, const std::string& file) {
  using K = PickledValue::Kind;
  const auto bad = [&](const std::string& what) { return Error(file + ": " + what); };
  if (pid.kind != K::kTuple) throw bad("unsupported persistent id in pickle data");
  const auto& f = pid.items;
  if (f.size() < 5 || f[0]->kind != K::kString || f[0]->text != "storage" ||
      f[1]->kind != K::kGlobal || f[2]->kind != K::kString || f[4]->kind != K::kInt) {
    throw bad("unsupported persistent id in pickle data (not a torch.save storage reference)");
  }
  if (f[2]->text.size() > kMaxStorageKey) {
    throw bad("unsupported storage key of " + std::to_string(f[2]->text.size()) +
              " bytes in pickle data (torch.save's are numbers)");
  }
  if (f.size() > 5 && f[5]->kind != K::kNone) {
    throw bad("unsupported storage view in pickle data");
  }
  const auto dtype = storage_dtype(f[1]->text);
  if (!dtype) throw bad("unsupported storage type " + f[1]->text);
  const int64_t numel = f[4]->integer;
  if (numel < 0 || numel > (int64_t{1} << 50)) {
    throw bad("corrupt pickle data (bad storage size)");
  }
  return {f[2]->text, *dtype, numel};
}

}  // namespace greedyhash::detail
