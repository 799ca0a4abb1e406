#pragma once

#include <ATen/core/ivalue.h>

#include <string>

#include "pickled_value.h"

namespace greedyhash::detail {

// The IValue of a pickled value: None, bool, int, double, string, tensor, or a tuple,
// list or dict of these. A bare class, function or storage is greedyhash::Error naming
// `file`.
c10::IValue to_ivalue(const PickledValue& value, const std::string& file);

}  // namespace greedyhash::detail
