#pragma once

#include <c10/core/ScalarType.h>

#include <cstdint>
#include <optional>
#include <string>

#include "pickled_value.h"

namespace greedyhash::detail {

// The storage class torch.save names for an element type ("FloatStorage" for float32), or
// nullptr for a type it has none for.
const char* storage_type_name(at::ScalarType dtype);

// The element type of a storage class given as a global ("torch.FloatStorage"); PyTorch
// >= 2's torch.UntypedStorage counts bytes.
std::optional<at::ScalarType> storage_dtype(const std::string& global_name);

// torch.save's persistent id of a storage: ('storage', torch.<Type>Storage, key, location,
// numel[, view]); the zip format has no view entry, the legacy one None there.
struct StorageRef {
  std::string key;
  at::ScalarType dtype;
  int64_t numel;
};

// torch.save's keys are decimal numbers. The pickle memo lets a few bytes load the same
// storage again and again, and each load copies and hashes its key, so a long one would
// make the time grow with the square of the file's size.
constexpr size_t kMaxStorageKey = 256;

// The storage reference `pid` stands for; greedyhash::Error naming `file` for anything
// else, a key longer than kMaxStorageKey included.
StorageRef parse_storage_ref(const PickledValue& pid, const std::string& file);

}  // namespace greedyhash::detail
