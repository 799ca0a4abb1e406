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
using PersistentLoad = std::function<PickledValue*(const PickledValue& pid)>;

// The pickle machine: runs the subset of pickle protocols 2-4 that torch.save emits for
// dicts of tensors and plain values over `size` bytes at `data`. Classes are not
// imported: the few torch.save calls (OrderedDict, tensor and parameter rebuilds) are
// carried out here, anything else is rejected. Errors throw greedyhash::Error prefixed
// with `file`. The values it makes belong to `values`.
//
// Whatever the bytes, it stops with a value or an error: reads are checked against the
// end of the data before anything is allocated for them, the stack and memo are checked
// on every use, and a class name is at most kMaxGlobalName bytes and a dict key at most
// kMaxKey: memo references let a few bytes of pickle use a long string again and again,
// and each use as a name or key costs its length (a copy, a hash), so without the bounds
// the time would grow with the square of the file's size.
class PickleMachine {
 public:
  static constexpr size_t kMaxGlobalName = 256;
  // A state dict's keys are parameter names, tens of bytes.
  static constexpr size_t kMaxKey = 1024;

  PickleMachine(std::string file, PersistentLoad persistent_load, PickledValues& values,
                const char* data, size_t size)
      : file_(std::move(file)),
        persistent_load_(std::move(persistent_load)),
        values_(values),
        data_(data),
        size_(size) {}

  // Runs one pickle to its STOP and returns its value.
  PickledValue* run();
  // Bytes consumed so far (where the next pickle of a legacy file starts).
  size_t position() const { return pos_; }

 private:
  [[noreturn]] void fail(std::string what) const;
  void need(size_t n) const;
  uint64_t read_le(size_t n);
  std::string read_bytes(uint64_t n);
  std::string read_line();

  PickledValue* pop();
  PickledValue* top();
  std::vector<PickledValue*> pop_to_mark();
  PickledValue* memo_get(uint64_t id);
  PickledValue* expect(PickledValue* value, PickledValue::Kind kind, const char* what) const;

  void set_item(PickledValue& dict, PickledValue* key, PickledValue* value) const;
  PickledValue* make(PickledValue::Kind kind) { return values_.make(kind); }
  PickledValue* global(std::string module, const std::string& name);
  PickledValue* reduce(const PickledValue& callable, const PickledValue& args);
  PickledValue* rebuild_tensor(const PickledValue& args);

  std::string file_;
  PersistentLoad persistent_load_;
  PickledValues& values_;
  const char* data_;
  size_t size_;
  size_t pos_ = 0;
  std::vector<PickledValue*> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, PickledValue*> memo_;
};

}  // namespace greedyhash::detail
