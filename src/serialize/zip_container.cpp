#include "zip_container.h"

#include <ATen/ATen.h>
#include <caffe2/serialize/inline_container.h>

#include <array>
#include <memory>
#include <string>
#include <unordered_map>

#include "greedyhash/error.h"
#include "pickle_machine.h"
#include "torch_storage.h"

namespace greedyhash::detail {

namespace fs = std::filesystem;

PickledValuePtr read_zip_root(const fs::path& file, TensorData tensors) {
  const std::string name = file.string();
  caffe2::serialize::PyTorchStreamReader archive(name);
  if (archive.hasRecord("constants.pkl") || archive.hasRecord("code/__torch__.py")) {
    throw Error(name + ": is a TorchScript module (torch.jit.save), not a torch.save dict");
  }
  if (!archive.hasRecord("data.pkl"))
    throw Error(name + ": not a torch.save archive (no data.pkl)");
  if (archive.hasRecord("byteorder")) {
    auto [order, order_size] = archive.getRecord("byteorder");
    if (std::string(static_cast<const char*>(order.get()), order_size) != "little") {
      throw Error(name + ": big-endian tensor data is not supported");
    }
  }
  std::unordered_map<std::string, PickledValuePtr> storages;
  const auto load = [&](const PickledValuePtr& pid) {
    const StorageRef ref = parse_storage_ref(pid, name);
    PickledValuePtr& node = storages[ref.key];
    if (node) return node;
    const auto options = at::TensorOptions().dtype(ref.dtype);
    const std::string record = "data/" + ref.key;
    if (!archive.hasRecord(record)) throw Error(name + ": missing storage record " + record);
    if (tensors == TensorData::kShapesOnly) {
      node = make_storage(at::empty({ref.numel}, options.device(at::kMeta)));
      return node;
    }
    auto [data_ptr, nbytes] = archive.getRecord(record);
    const size_t expected = static_cast<size_t>(ref.numel) * c10::elementSize(ref.dtype);
    if (nbytes != expected) {
      throw Error(name + ": storage record " + record + " holds " + std::to_string(nbytes) +
                  " bytes, expected " + std::to_string(expected));
    }
    // The tensor owns the record's buffer: no copy of the (possibly large) data.
    auto owner = std::make_shared<at::DataPtr>(std::move(data_ptr));
    void* raw = owner->get();
    static std::array<char, 8> empty{};
    node = make_storage(at::from_blob(
        raw != nullptr ? raw : empty.data(), {ref.numel}, [owner](void*) mutable { owner.reset(); },
        options));
    return node;
  };
  auto [pickle, pickle_size] = archive.getRecord("data.pkl");
  return PickleMachine(name, load, static_cast<const char*>(pickle.get()), pickle_size).run();
}

}  // namespace greedyhash::detail
