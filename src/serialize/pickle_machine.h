#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "pickled_value.h"

namespace greedyhash::detail {

// Turns a persistent id (a storage reference) into a storage value.
using PersistentLoad = std::function<PickledValuePtr(const PickledValuePtr& pid)>;

// The pickle machine: runs the subset of pickle protocols 2-4 that torch.save emits for
// dicts of tensors and plain values over `size` bytes at `data`. Classes are not
// imported: the few torch.save calls (OrderedDict, tensor and parameter rebuilds) are
// carried out here, anything else is rejected. Errors throw greedyhash::Error prefixed
// with `file`.
class PickleMachine {
 public:
  PickleMachine(std::string file, PersistentLoad persistent_load, const char* data, size_t size)
      : file_(std::move(file)),
        persistent_load_(std::move(persistent_load)),
        data_(data),
        size_(size) {}

  // Runs one pickle to its STOP and returns its value.
  PickledValuePtr run();
  // Bytes consumed so far (where the next pickle of a legacy file starts).
  size_t position() const { return pos_; }

 private:
  [[noreturn]] void fail(std::string what) const;
  void need(size_t n) const;
  uint64_t read_le(size_t n);
  std::string read_bytes(uint64_t n);
  std::string read_line();

  PickledValuePtr pop();
  PickledValuePtr& top();
  std::vector<PickledValuePtr> pop_to_mark();
  PickledValuePtr memo_get(uint64_t id);
  PickledValuePtr expect(const PickledValuePtr& value, PickledValue::Kind kind,
                         const char* what) const;

  void set_item(PickledValue& dict, PickledValuePtr key, PickledValuePtr value) const;
  PickledValuePtr reduce(const PickledValuePtr& callable, const PickledValuePtr& args);
  PickledValuePtr rebuild_tensor(const PickledValuePtr& args);

  std::string file_;
  PersistentLoad persistent_load_;
  const char* data_;
  size_t size_;
  size_t pos_ = 0;
  std::vector<PickledValuePtr> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, PickledValuePtr> memo_;
};

}  // namespace greedyhash::detail
