#include "legacy_container.h"

#include <ATen/ATen.h>

#include <cstring>
#include <string>
#include <unordered_map>

#include "greedyhash/error.h"
#include "pickle_machine.h"
#include "torch_storage.h"

namespace greedyhash::detail {

PickledValue* read_legacy_root(const ByteSource& source, TensorData tensors,
                               PickledValues& values) {
  const std::string& name = source.name();
  const std::string bytes = source.read(0, source.size());
  // The pickled magic number 0x1950a86a20f9469cfc6c (protocol 2, LONG1 of 10 bytes).
  static const std::string kMagic("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.", 15);
  if (bytes.compare(0, kMagic.size(), kMagic) != 0) {
    throw Error(name + ": not a torch.save file (neither a zip archive nor the legacy format)");
  }
  size_t pos = kMagic.size();
  const auto next = [&](PersistentLoad load) {
    PickleMachine machine(name, std::move(load), values, bytes.data() + pos, bytes.size() - pos);
    PickledValue* value = machine.run();
    pos += machine.position();
    return value;
  };
  const PersistentLoad no_storage = [&](const PickledValue&) -> PickledValue* {
    throw Error(name + ": corrupt legacy torch.save header");
  };
  const PickledValue* version = next(no_storage);
  if (version->kind != PickledValue::Kind::kInt || version->integer != 1001) {
    throw Error(name + ": unsupported legacy torch.save protocol version");
  }
  const PickledValue* sys_info = next(no_storage);
  for (const auto& [key, value] : sys_info->entries) {
    if (key->text == "little_endian" && value->kind == PickledValue::Kind::kBool &&
        !value->boolean) {
      throw Error(name + ": big-endian tensor data is not supported");
    }
  }
  // Every storage's bytes follow in the file, so together they cannot be more than it
  // holds; checked before each allocation.
  uint64_t storage_bytes = 0;
  std::unordered_map<std::string, PickledValue*> storages;
  PickledValue* root = next([&](const PickledValue& pid) {
    const StorageRef ref = parse_storage_ref(pid, name);
    PickledValue*& storage = storages[ref.key];
    if (storage == nullptr) {
      storage_bytes += static_cast<uint64_t>(ref.numel) * c10::elementSize(ref.dtype);
      if (storage_bytes > bytes.size()) throw Error(name + ": truncated storage data");
      const auto device = tensors == TensorData::kLoad ? at::kCPU : at::kMeta;
      storage = values.make_storage(
          at::empty({ref.numel}, at::TensorOptions().dtype(ref.dtype).device(device)));
    }
    return storage;
  });
  const PickledValue* keys = next(no_storage);
  if (keys->kind != PickledValue::Kind::kList) throw Error(name + ": corrupt legacy storage list");
  if (tensors == TensorData::kShapesOnly) return root;
  for (const PickledValue* key : keys->items) {
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
