#include "pickle_machine.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cstring>
#include <iterator>
#include <sstream>
#include <utility>

#include "greedyhash/error.h"

namespace greedyhash::detail {

namespace {

PickledValuePtr tuple(std::vector<PickledValuePtr> items) {
  auto value = make_pickled(PickledValue::Kind::kTuple);
  value->items = std::move(items);
  return value;
}

}  // namespace

void PickleMachine::fail(std::string what) const {
  // Names read from a damaged file may hold any byte; keep the message one printable line.
  for (char& c : what) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
  }
  throw Error(file_ + ": " + what);
}

void PickleMachine::need(size_t n) const {
  if (size_ - pos_ < n) fail("truncated pickle data (data.pkl)");
}

uint64_t PickleMachine::read_le(size_t n) {
  need(n);
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v |= uint64_t(uint8_t(data_[pos_ + i])) << (8 * i);
  pos_ += n;
  return v;
}

std::string PickleMachine::read_bytes(uint64_t n) {
  need(n);
  std::string s(data_ + pos_, n);
  pos_ += n;
  return s;
}

std::string PickleMachine::read_line() {
  const void* end = std::memchr(data_ + pos_, '\n', size_ - pos_);
  if (end == nullptr) fail("truncated pickle data (data.pkl)");
  const size_t n = static_cast<const char*>(end) - (data_ + pos_);
  std::string s(data_ + pos_, n);
  pos_ += n + 1;
  return s;
}

PickledValuePtr PickleMachine::pop() {
  if (stack_.empty() || (!marks_.empty() && stack_.size() <= marks_.back())) {
    fail("corrupt pickle data (stack underflow)");
  }
  auto value = std::move(stack_.back());
  stack_.pop_back();
  return value;
}

PickledValuePtr& PickleMachine::top() {
  if (stack_.empty()) fail("corrupt pickle data (stack underflow)");
  return stack_.back();
}

std::vector<PickledValuePtr> PickleMachine::pop_to_mark() {
  if (marks_.empty()) fail("corrupt pickle data (no mark)");
  const size_t mark = marks_.back();
  marks_.pop_back();
  if (mark > stack_.size()) fail("corrupt pickle data (bad mark)");
  std::vector<PickledValuePtr> items(std::make_move_iterator(stack_.begin() + mark),
                                     std::make_move_iterator(stack_.end()));
  stack_.resize(mark);
  return items;
}

PickledValuePtr PickleMachine::memo_get(uint64_t id) {
  const auto it = memo_.find(id);
  if (it == memo_.end()) fail("corrupt pickle data (unknown memo entry)");
  return it->second;
}

PickledValuePtr PickleMachine::expect(const PickledValuePtr& value, PickledValue::Kind kind,
                                      const char* what) const {
  if (value->kind != kind) {
    fail(std::string("corrupt pickle data (") + what + " is a " + kind_name(value->kind) +
         ", expected " + kind_name(kind) + ")");
  }
  return value;
}

void PickleMachine::set_item(PickledValue& dict, PickledValuePtr key, PickledValuePtr value) const {
  if (dict.kind != PickledValue::Kind::kDict) fail("corrupt pickle data (item set on a non-dict)");
  // Later assignments to an existing key replace it, as in Python.
  std::string index_key;
  if (key->kind == PickledValue::Kind::kString) index_key = "s" + key->text;
  if (key->kind == PickledValue::Kind::kInt) index_key = "i" + std::to_string(key->integer);
  if (!index_key.empty()) {
    const auto found = dict.entry_index.find(index_key);
    if (found != dict.entry_index.end()) {
      dict.entries[found->second].second = std::move(value);
      return;
    }
    dict.entry_index.emplace(index_key, dict.entries.size());
  }
  dict.entries.emplace_back(std::move(key), std::move(value));
}

PickledValuePtr PickleMachine::rebuild_tensor(const PickledValuePtr& args) {
  // _rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata]);
  // the older _rebuild_tensor has only the first four.
  const auto& a = expect(args, PickledValue::Kind::kTuple, "tensor arguments")->items;
  if (a.size() < 4 || a[0]->kind != PickledValue::Kind::kStorage ||
      a[1]->kind != PickledValue::Kind::kInt || a[2]->kind != PickledValue::Kind::kTuple ||
      a[3]->kind != PickledValue::Kind::kTuple || a[2]->items.size() != a[3]->items.size()) {
    fail("corrupt pickle data (malformed tensor)");
  }
  std::vector<int64_t> sizes, strides;
  for (size_t d = 0; d < a[2]->items.size(); ++d) {
    const auto& size = a[2]->items[d];
    const auto& stride = a[3]->items[d];
    if (size->kind != PickledValue::Kind::kInt || stride->kind != PickledValue::Kind::kInt ||
        size->integer < 0 || stride->integer < 0) {
      fail("corrupt pickle data (malformed tensor shape)");
    }
    sizes.push_back(size->integer);
    strides.push_back(stride->integer);
  }
  const at::Tensor& storage = a[0]->tensor;
  const int64_t offset = a[1]->integer;
  // Bounds check here so that a corrupt file gives our one-line error, not ATen's (and
  // without overflow for absurd sizes).
  const bool empty = std::find(sizes.begin(), sizes.end(), 0) != sizes.end();
  int64_t last = offset;
  bool inside = offset >= 0;
  for (size_t d = 0; d < sizes.size() && inside && !empty; ++d) {
    const int64_t span = sizes[d] - 1;
    inside = strides[d] == 0 || span <= (storage.numel() - 1 - last) / strides[d];
    if (inside) last += span * strides[d];
  }
  if (!empty && !(inside && last < storage.numel())) {
    fail("corrupt pickle data (tensor exceeds its storage)");
  }
  auto node = make_pickled(PickledValue::Kind::kTensor);
  node->tensor = storage.as_strided(sizes, strides, empty ? 0 : offset);
  return node;
}

PickledValuePtr PickleMachine::reduce(const PickledValuePtr& callable,
                                      const PickledValuePtr& args) {
  if (callable->kind != PickledValue::Kind::kGlobal)
    fail("corrupt pickle data (call of a non-class)");
  const std::string& name = callable->text;
  expect(args, PickledValue::Kind::kTuple, "call arguments");
  if (name == "collections.OrderedDict") {
    // torch.save emits OrderedDict() and then sets its items; a tensor's (empty)
    // backward-hook table is one too.
    if (!args->items.empty()) fail("unsupported OrderedDict construction in pickle data");
    return make_pickled(PickledValue::Kind::kDict);
  }
  if (name == "torch._utils._rebuild_tensor_v2" || name == "torch._utils._rebuild_tensor") {
    return rebuild_tensor(args);
  }
  if (name == "torch._utils._rebuild_parameter" ||
      name == "torch._utils._rebuild_parameter_with_state" ||
      name == "torch.jit._pickle.restore_type_tag") {
    // An nn.Parameter is stored as (tensor, requires_grad, hooks): keep the tensor. A
    // type tag (written by LibTorch's pickler) only annotates the value.
    if (args->items.empty()) fail("corrupt pickle data (" + name + " without arguments)");
    return args->items[0];
  }
  fail("holds a " + name + " object; only tensors and plain values (a state dict) can be read");
}

PickledValuePtr PickleMachine::run() {
  using K = PickledValue::Kind;
  for (;;) {
    need(1);
    const auto op = static_cast<uint8_t>(data_[pos_++]);
    switch (op) {
      case 0x80:
        read_le(1);
        break;  // PROTO
      case 0x95:
        read_le(8);
        break;     // FRAME: only a hint for buffering
      case '.': {  // STOP
        auto result = pop();
        if (!stack_.empty()) fail("corrupt pickle data (values left on the stack)");
        return result;
      }
      case '(':
        marks_.push_back(stack_.size());
        break;
      case '0':
        pop();
        break;
      case '1':
        pop_to_mark();
        break;
      case '2':
        stack_.push_back(top());
        break;
      case 'N':
        stack_.push_back(make_pickled(K::kNone));
        break;
      case 0x88:
      case 0x89: {
        auto node = make_pickled(K::kBool);
        node->boolean = op == 0x88;
        stack_.push_back(node);
        break;
      }
      case 'J':
      case 'K':
      case 'M': {
        auto node = make_pickled(K::kInt);
        if (op == 'J') node->integer = static_cast<int32_t>(read_le(4));
        if (op == 'K') node->integer = static_cast<int64_t>(read_le(1));
        if (op == 'M') node->integer = static_cast<int64_t>(read_le(2));
        stack_.push_back(node);
        break;
      }
      case 0x8a:    // LONG1: little-endian two's complement of n bytes
      case 0x8b: {  // LONG4
        const uint64_t n = read_le(op == 0x8a ? 1 : 4);
        if (n > 8) fail("integer in pickle data does not fit in 64 bits");
        uint64_t v = read_le(n);
        if (n > 0 && n < 8 && (v >> (8 * n - 1)) != 0) v |= ~uint64_t(0) << (8 * n);
        auto node = make_pickled(K::kInt);
        node->integer = static_cast<int64_t>(v);
        stack_.push_back(node);
        break;
      }
      case 'G': {  // BINFLOAT: big-endian IEEE double
        need(8);
        uint64_t bits = 0;
        for (int i = 0; i < 8; ++i) bits = (bits << 8) | uint8_t(data_[pos_ + i]);
        pos_ += 8;
        auto node = make_pickled(K::kFloat);
        std::memcpy(&node->real, &bits, sizeof bits);
        stack_.push_back(node);
        break;
      }
      case 'X':    // BINUNICODE
      case 0x8c:   // SHORT_BINUNICODE
      case 0x8d:   // BINUNICODE8
      case 'T':    // BINSTRING
      case 'U': {  // SHORT_BINSTRING
        const size_t width = (op == 0x8c || op == 'U') ? 1 : op == 0x8d ? 8 : 4;
        auto node = make_pickled(K::kString);
        node->text = read_bytes(read_le(width));
        stack_.push_back(node);
        break;
      }
      case ')':
        stack_.push_back(tuple({}));
        break;
      case 't':
        stack_.push_back(tuple(pop_to_mark()));
        break;
      case 0x85:
      case 0x86:
      case 0x87: {
        std::vector<PickledValuePtr> items(op - 0x84);
        for (auto it = items.rbegin(); it != items.rend(); ++it) *it = pop();
        stack_.push_back(tuple(std::move(items)));
        break;
      }
      case ']':
        stack_.push_back(make_pickled(K::kList));
        break;
      case 'l': {
        auto node = make_pickled(K::kList);
        node->items = pop_to_mark();
        stack_.push_back(node);
        break;
      }
      case 'a': {
        auto value = pop();
        expect(top(), K::kList, "append target")->items.push_back(std::move(value));
        break;
      }
      case 'e': {
        auto values = pop_to_mark();
        auto& items = expect(top(), K::kList, "append target")->items;
        items.insert(items.end(), values.begin(), values.end());
        break;
      }
      case '}':
        stack_.push_back(make_pickled(K::kDict));
        break;
      case 'd':
      case 'u': {  // DICT / SETITEMS
        auto values = pop_to_mark();
        if (values.size() % 2 != 0) fail("corrupt pickle data (odd number of dict items)");
        if (op == 'd') stack_.push_back(make_pickled(K::kDict));
        auto& dict = *top();
        for (size_t i = 0; i < values.size(); i += 2) set_item(dict, values[i], values[i + 1]);
        break;
      }
      case 's': {
        auto value = pop();
        auto key = pop();
        set_item(*top(), std::move(key), std::move(value));
        break;
      }
      case 'c': {  // GLOBAL module\nname\n
        auto node = make_pickled(K::kGlobal);
        const std::string module = read_line();
        node->text = module + "." + read_line();
        stack_.push_back(node);
        break;
      }
      case 0x93: {  // STACK_GLOBAL
        auto name = expect(pop(), K::kString, "global name");
        auto module = expect(pop(), K::kString, "global module");
        auto node = make_pickled(K::kGlobal);
        node->text = module->text + "." + name->text;
        stack_.push_back(node);
        break;
      }
      case 'q':
        memo_[read_le(1)] = top();
        break;
      case 'r':
        memo_[read_le(4)] = top();
        break;
      case 0x94: {  // MEMOIZE
        const uint64_t id = memo_.size();
        memo_[id] = top();
        break;
      }
      case 'h':
        stack_.push_back(memo_get(read_le(1)));
        break;
      case 'j':
        stack_.push_back(memo_get(read_le(4)));
        break;
      case 'R':
      case 0x81: {  // REDUCE, NEWOBJ: both call a class or function with a tuple
        auto args = pop();
        auto callable = pop();
        stack_.push_back(reduce(callable, args));
        break;
      }
      case 'b': {  // BUILD: sets instance attributes
        pop();
        // A state dict carries its per-module versions as an attribute (_metadata);
        // nothing here uses them.
        if (top()->kind != K::kDict && top()->kind != K::kTensor) {
          fail(std::string("corrupt pickle data (attributes set on a ") + kind_name(top()->kind) +
               ")");
        }
        break;
      }
      case 'Q': {  // BINPERSID
        auto pid = pop();
        stack_.push_back(persistent_load_(pid));
        break;
      }
      default: {
        std::ostringstream hex;
        hex << std::hex << int(op);
        fail("unsupported pickle opcode 0x" + hex.str() + " in data.pkl");
      }
    }
  }
}

}  // namespace greedyhash::detail
