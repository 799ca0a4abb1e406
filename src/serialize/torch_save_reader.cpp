// torch.save files: a zip archive holding data.pkl, a pickle of the object in which every
// tensor refers to a storage record data/<key>; or, before PyTorch 1.6, pickles and raw
// storages in sequence. This file tells the two apart and turns the object into values;
// zip_container.cpp and legacy_container.cpp read each, pickle_machine.cpp runs the pickles.

#include <ATen/ATen.h>

#include <array>
#include <cstring>
#include <fstream>
#include <string>

#include "greedyhash/error.h"
#include "greedyhash/serialize/torch_save_file.h"
#include "ivalue_conversion.h"
#include "legacy_container.h"
#include "zip_container.h"

namespace greedyhash {

namespace {

namespace fs = std::filesystem;
using detail::PickledValue;
using detail::PickledValuePtr;

enum class Container { kZip, kLegacy };

// Tells the two torch.save formats apart, and rejects anything else with a precise
// message before a reader sees it.
Container detect_container(const fs::path& file) {
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) {
    throw Error(file.string() + (fs::exists(file, ec) ? ": not a regular file" : ": no such file"));
  }
  std::ifstream in(file, std::ios::binary);
  std::array<char, 4> magic{};
  if (!in || !in.read(magic.data(), magic.size())) {
    throw Error(file.string() + ": cannot read, or too short to be a torch.save file");
  }
  if (std::memcmp(magic.data(), "PK\x03\x04", 4) == 0) return Container::kZip;
  if (std::memcmp(magic.data(), "\x80\x02\x8a\x0a", 4) == 0) return Container::kLegacy;
  throw Error(file.string() +
              ": not a torch.save file (neither a zip archive nor the legacy format)");
}

}  // namespace

TorchSaveDict read_torch_save_dict(const fs::path& file, TensorData tensors) {
  const std::string name = file.string();
  try {
    const PickledValuePtr root = detect_container(file) == Container::kZip
                                     ? detail::read_zip_root(file, tensors)
                                     : detail::read_legacy_root(file, tensors);
    if (root->kind != PickledValue::Kind::kDict) {
      throw Error(name + ": holds a " + detail::kind_name(root->kind) +
                  ", expected a dict (a state dict)");
    }
    TorchSaveDict result("Entry");
    for (const auto& [key, value] : root->entries) {
      if (key->kind != PickledValue::Kind::kString) {
        throw Error(name + ": has a key of type " + std::string(detail::kind_name(key->kind)) +
                    ", expected string keys (a state dict)");
      }
      result.insert(key->text, detail::to_ivalue(*value, name));
    }
    return result;
  } catch (const c10::Error& e) {
    // The zip reader's errors (truncated archive, bad CRC, ...).
    throw Error(name + ": corrupt or truncated file (" + first_line(e.what_without_backtrace()) +
                ")");
  }
}

}  // namespace greedyhash
