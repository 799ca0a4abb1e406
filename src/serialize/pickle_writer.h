#pragma once

#include <ATen/core/Tensor.h>
#include <ATen/core/ivalue.h>

#include <cstdint>
#include <string>
#include <vector>

namespace greedyhash::detail {

// Emits pickle protocol 2 the way Python's pickler does for a dict of tensors and plain
// values (without memo entries, which the format does not require). Each tensor becomes a
// storage reference data/<index> in torch.save's zip layout.
class PickleWriter {
 public:
  void begin_dict();
  void end_dict();
  // A value of the dict: a tensor, None, bool, int, double or string; anything else
  // throws std::invalid_argument naming `key`.
  void value(const c10::IValue& v, const std::string& key);
  void string(const std::string& s);

  const std::string& bytes() const { return out_; }
  // Tensors to store as data/<index>, contiguous and on the CPU.
  const std::vector<at::Tensor>& storages() const { return storages_; }

 private:
  void op(char c) { out_ += c; }
  void le(uint64_t v, int n);
  void global(const char* module, const std::string& name);
  void integer(int64_t v);
  void real(double v);
  void int_tuple(at::IntArrayRef values);
  void tensor(const at::Tensor& t, const std::string& key);

  std::string out_;
  std::vector<at::Tensor> storages_;
};

}  // namespace greedyhash::detail
