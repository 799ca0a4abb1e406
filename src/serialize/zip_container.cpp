#include "zip_container.h"

#include <ATen/ATen.h>

#include <string>
#include <unordered_map>

#include "greedyhash/error.h"
#include "pickle_machine.h"
#include "torch_storage.h"
#include "zip_archive.h"

namespace greedyhash::detail {

PickledValue* read_zip_root(const ByteSource& source, TensorData tensors, PickledValues& values) {
  const std::string& name = source.name();
  const ZipArchive archive(source);
  if (archive.has("constants.pkl") || archive.has("code/__torch__.py")) {
    throw Error(name + ": is a TorchScript module (torch.jit.save), not a torch.save dict");
  }
  if (!archive.has("data.pkl")) throw Error(name + ": not a torch.save archive (no data.pkl)");
  if (archive.has("byteorder") && archive.read("byteorder") != "little") {
    throw Error(name + ": big-endian tensor data is not supported");
  }
  std::unordered_map<std::string, PickledValue*> storages;
  const auto load = [&](const PickledValue& pid) {
    const StorageRef ref = parse_storage_ref(pid, name);
    PickledValue*& storage = storages[ref.key];
    if (storage != nullptr) return storage;
    const std::string record = "data/" + ref.key;
    if (!archive.has(record)) throw Error(name + ": missing storage record " + record);
    // The record's size is known before anything is read or allocated; the archive has
    // checked it against the file.
    const uint64_t expected = static_cast<uint64_t>(ref.numel) * c10::elementSize(ref.dtype);
    if (archive.size(record) != expected) {
      throw Error(name + ": storage record " + record + " holds " +
                  std::to_string(archive.size(record)) + " bytes, expected " +
                  std::to_string(expected));
    }
    const auto device = tensors == TensorData::kLoad ? at::kCPU : at::kMeta;
    at::Tensor flat = at::empty({ref.numel}, at::TensorOptions().dtype(ref.dtype).device(device));
    if (tensors == TensorData::kLoad) archive.read(record, flat.data_ptr());
    storage = values.make_storage(std::move(flat));
    return storage;
  };
  const std::string pickle = archive.read("data.pkl");
  return PickleMachine(name, load, values, pickle.data(), pickle.size()).run();
}

}  // namespace greedyhash::detail
