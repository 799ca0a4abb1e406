#include "legacy_container.h"

#include <ATen/ATen.h>

#include <cstring>
#include <fstream>
#include <string>
#include <unordered_map>

#include "greedyhash/error.h"
#include "pickle_machine.h"
#include "torch_storage.h"

namespace greedyhash::detail {

namespace fs = std::filesystem;

PickledValuePtr read_legacy_root(const fs::path& file, TensorData tensors) {
  const std::string name = file.string();
  std::ifstream in(file, std::ios::binary);
  std::string bytes(fs::file_size(file), '\0');
  if (!in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()))) {
    throw Error(name + ": cannot read");
  }
  // The pickled magic number 0x1950a86a20f9469cfc6c (protocol 2, LONG1 of 10 bytes).
  static const std::string kMagic("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.", 15);
  if (bytes.compare(0, kMagic.size(), kMagic) != 0) {
    throw Error(name + ": not a torch.save file (neither a zip archive nor the legacy format)");
  }
  size_t pos = kMagic.size();
  const auto next = [&](PersistentLoad load) {
    PickleMachine reader(name, std::move(load), bytes.data() + pos, bytes.size() - pos);
    PickledValuePtr value = reader.run();
    pos += reader.position();
    return value;
  };
  const PersistentLoad no_storage = [&](const PickledValuePtr&) -> PickledValuePtr {
    throw Error(name + ": corrupt legacy torch.save header");
  };
  const PickledValuePtr version = next(no_storage);
  if (version->kind != PickledValue::Kind::kInt || version->integer != 1001) {
    throw Error(name + ": unsupported legacy torch.save protocol version");
  }
  const PickledValuePtr sys_info = next(no_storage);
  for (const auto& [key, value] : sys_info->entries) {
    if (key->text == "little_endian" && value->kind == PickledValue::Kind::kBool &&
        !value->boolean) {
      throw Error(name + ": big-endian tensor data is not supported");
    }
  }
  std::unordered_map<std::string, PickledValuePtr> storages;
  const PickledValuePtr root = next([&](const PickledValuePtr& pid) {
    const StorageRef ref = parse_storage_ref(pid, name);
    PickledValuePtr& node = storages[ref.key];
    if (!node) {
      // Every storage's bytes follow in the file: a larger one means a damaged file.
      if (static_cast<size_t>(ref.numel) * c10::elementSize(ref.dtype) > bytes.size()) {
        throw Error(name + ": truncated storage data");
      }
      const auto device = tensors == TensorData::kLoad ? at::kCPU : at::kMeta;
      node =
          make_storage(at::empty({ref.numel}, at::TensorOptions().dtype(ref.dtype).device(device)));
    }
    return node;
  });
  const PickledValuePtr keys = next(no_storage);
  if (keys->kind != PickledValue::Kind::kList) throw Error(name + ": corrupt legacy storage list");
  if (tensors == TensorData::kShapesOnly) return root;
  for (const auto& key : keys->items) {
    const auto found = storages.find(key->text);
    if (key->kind != PickledValue::Kind::kString || found == storages.end()) {
      throw Error(name + ": corrupt legacy storage list");
    }
    const at::Tensor& flat = found->second->tensor;
    const size_t nbytes = flat.numel() * flat.element_size();
    if (bytes.size() - pos < 8 + nbytes) throw Error(name + ": truncated storage data");
    int64_t count = 0;
    std::memcpy(&count, bytes.data() + pos, sizeof count);
    if (count != flat.numel()) throw Error(name + ": corrupt storage data (wrong size)");
    if (nbytes > 0) std::memcpy(flat.data_ptr(), bytes.data() + pos + 8, nbytes);
    pos += 8 + nbytes;
  }
  return root;
}

}  // namespace greedyhash::detail
