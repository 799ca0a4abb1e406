// torch.save files: a zip archive holding data.pkl, a pickle of the object in which every
// tensor refers to a storage record data/<key>; or, before PyTorch 1.6, pickles and raw
// storages in sequence. This file tells the two apart; zip_container.cpp and
// legacy_container.cpp read each, pickle_machine.cpp runs their pickles and
// ivalue_conversion.cpp turns the object into values.

#include "torch_save_reader.h"

#include <ATen/ATen.h>

#include <cstring>
#include <string>

#include "greedyhash/error.h"
#include "ivalue_conversion.h"
#include "legacy_container.h"
#include "pickled_value.h"
#include "zip_container.h"

namespace greedyhash {

namespace detail {

namespace {

TorchSaveDict read_dict(const ByteSource& source, TensorData tensors) {
  const std::string& name = source.name();
  if (source.size() < 4) throw Error(name + ": cannot read, or too short to be a torch.save file");
  const std::string magic = source.read(0, 4);
  PickledValues values;
  const PickledValue* root = nullptr;
  if (magic == std::string("PK\x03\x04", 4)) {
    root = read_zip_root(source, tensors, values);
  } else if (magic == std::string("\x80\x02\x8a\x0a", 4)) {
    root = read_legacy_root(source, tensors, values);
  } else {
    throw Error(name + ": not a torch.save file (neither a zip archive nor the legacy format)");
  }
  return to_torch_save_dict(*root, name);
}

}  // namespace

TorchSaveDict read_torch_save_dict(const ByteSource& source, TensorData tensors) {
  const std::string& name = source.name();
  try {
    return read_dict(source, tensors);
  } catch (const c10::Error& e) {
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
    throw;  // ATen refusing what the checks let through: a finding for the fuzzer
#endif
    // Out of memory for a large file, or ATen refusing what the checks let through.
    throw Error(name + ": cannot be read (" + first_line(e.what_without_backtrace()) + ")");
  }
}

}  // namespace detail

TorchSaveDict read_torch_save_dict(const std::filesystem::path& file, TensorData tensors) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec)) {
    throw Error(file.string() +
                (std::filesystem::exists(file, ec) ? ": not a regular file" : ": no such file"));
  }
  return detail::read_torch_save_dict(detail::ByteSource::open_file(file), tensors);
}

}  // namespace greedyhash
