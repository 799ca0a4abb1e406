#include "pickle_machine.h"

#include <ATen/ATen.h>

#include <cstring>
#include <sstream>
#include <utility>

#include "greedyhash/error.h"

namespace greedyhash::detail {

using K = PickledValue::Kind;

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

// The stack above the innermost mark is all an opcode may touch, as in Python's
// unpickler, where a mark starts a new stack.
PickledValue* PickleMachine::top() {
  if (stack_.empty() || (!marks_.empty() && stack_.size() <= marks_.back())) {
    fail("corrupt pickle data (stack underflow)");
  }
  return stack_.back();
}

PickledValue* PickleMachine::pop() {
  PickledValue* value = top();
  stack_.pop_back();
  return value;
}

std::vector<PickledValue*> PickleMachine::pop_to_mark() {
  if (marks_.empty()) fail("corrupt pickle data (no mark)");
  const size_t mark = marks_.back();
  marks_.pop_back();
  std::vector<PickledValue*> items(stack_.begin() + static_cast<std::ptrdiff_t>(mark),
                                   stack_.end());
  stack_.resize(mark);
  return items;
}

PickledValue* PickleMachine::memo_get(uint64_t id) {
  const auto it = memo_.find(id);
  if (it == memo_.end()) fail("corrupt pickle data (unknown memo entry)");
  return it->second;
}

PickledValue* PickleMachine::expect(PickledValue* value, K kind, const char* what) const {
  if (value->kind != kind) {
    fail(std::string("corrupt pickle data (") + what + " is a " + kind_name(value->kind) +
         ", expected " + kind_name(kind) + ")");
  }
  return value;
}

void PickleMachine::set_item(PickledValue& dict, PickledValue* key, PickledValue* value) const {
  if (dict.kind != K::kDict) fail("corrupt pickle data (item set on a non-dict)");
  // Keys LibTorch's dicts can hash (its hash throws inside a noexcept function for any
  // other, ending the process) and torch.save files use. A list or dict key would be an
  // error in Python too; None and tuple keys never occur in a state dict.
  if (key->kind != K::kString && key->kind != K::kInt && key->kind != K::kFloat &&
      key->kind != K::kBool) {
    fail(std::string("unsupported dict key of type ") + kind_name(key->kind) + " in pickle data");
  }
  // Every use of a key hashes it, here and again when the dict is converted.
  if (key->text.size() > kMaxKey) {
    fail("unsupported pickle data (a dict key of " + std::to_string(key->text.size()) +
         " bytes; state dict keys are names of at most " + std::to_string(kMaxKey) + ")");
  }
  if (!dict.key_index) dict.key_index = std::make_unique<PickledValue::KeyIndex>();
  size_t* position = nullptr;
  const size_t next = dict.entries.size();
  if (key->kind == K::kString)
    position = &dict.key_index->strings.emplace(key->text, next).first->second;
  if (key->kind == K::kInt)
    position = &dict.key_index->ints.emplace(key->integer, next).first->second;
  if (position != nullptr && *position != next) {
    dict.entries[*position].second = value;
    return;
  }
  dict.entries.emplace_back(key, value);
}

PickledValue* PickleMachine::rebuild_tensor(const PickledValue& args) {
  // _rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata]);
  // the older _rebuild_tensor has only the first four.
  if (args.kind != K::kTuple) fail("corrupt pickle data (malformed tensor)");
  const auto& a = args.items;
  if (a.size() < 4 || a[0]->kind != K::kStorage || a[1]->kind != K::kInt ||
      a[2]->kind != K::kTuple || a[3]->kind != K::kTuple ||
      a[2]->items.size() != a[3]->items.size()) {
    fail("corrupt pickle data (malformed tensor)");
  }
  std::vector<int64_t> sizes, strides;
  int64_t numel = 1;
  for (size_t d = 0; d < a[2]->items.size(); ++d) {
    const auto* size = a[2]->items[d];
    const auto* stride = a[3]->items[d];
    if (size->kind != K::kInt || stride->kind != K::kInt || size->integer < 0 ||
        stride->integer < 0 || __builtin_mul_overflow(numel, size->integer, &numel)) {
      fail("corrupt pickle data (malformed tensor shape)");
    }
    sizes.push_back(size->integer);
    strides.push_back(stride->integer);
  }
  const at::Tensor& storage = a[0]->tensor;
  const int64_t offset = a[1]->integer;
  // Bounds check here so that a corrupt file gives our one-line error, not ATen's (and
  // without overflow for absurd sizes).
  const bool empty = numel == 0;
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
  PickledValue* tensor = make(K::kTensor);
  tensor->tensor = storage.as_strided(sizes, strides, empty ? 0 : offset);
  return tensor;
}

PickledValue* PickleMachine::global(std::string module, const std::string& name) {
  if (module.size() + name.size() > kMaxGlobalName) {
    fail("unsupported pickle data (a class name of " + std::to_string(module.size() + name.size()) +
         " bytes)");
  }
  PickledValue* value = make(K::kGlobal);
  value->text = std::move(module) + "." + name;
  return value;
}

PickledValue* PickleMachine::reduce(const PickledValue& callable, const PickledValue& args) {
  if (callable.kind != K::kGlobal) fail("corrupt pickle data (call of a non-class)");
  const std::string& name = callable.text;
  if (args.kind != K::kTuple) {
    fail(std::string("corrupt pickle data (call arguments is a ") + kind_name(args.kind) +
         ", expected tuple)");
  }
  if (name == "collections.OrderedDict") {
    // torch.save emits OrderedDict() and then sets its items; a tensor's (empty)
    // backward-hook table is one too.
    if (!args.items.empty()) fail("unsupported OrderedDict construction in pickle data");
    return make(K::kDict);
  }
  if (name == "torch._utils._rebuild_tensor_v2" || name == "torch._utils._rebuild_tensor") {
    return rebuild_tensor(args);
  }
  if (name == "torch._utils._rebuild_parameter" ||
      name == "torch._utils._rebuild_parameter_with_state" ||
      name == "torch.jit._pickle.restore_type_tag") {
    // An nn.Parameter is stored as (tensor, requires_grad, hooks): keep the tensor. A
    // type tag (written by LibTorch's pickler) only annotates the value.
    if (args.items.empty()) fail("corrupt pickle data (" + name + " without arguments)");
    return args.items[0];
  }
  fail("holds a " + name + " object; only tensors and plain values (a state dict) can be read");
}

PickledValue* PickleMachine::run() {
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
        PickledValue* result = pop();
        if (!stack_.empty() || !marks_.empty()) {
          fail("corrupt pickle data (values left on the stack)");
        }
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
        stack_.push_back(make(K::kNone));
        break;
      case 0x88:
      case 0x89: {
        PickledValue* value = make(K::kBool);
        value->boolean = op == 0x88;
        stack_.push_back(value);
        break;
      }
      case 'J':
      case 'K':
      case 'M': {
        PickledValue* value = make(K::kInt);
        if (op == 'J') value->integer = static_cast<int32_t>(read_le(4));
        if (op == 'K') value->integer = static_cast<int64_t>(read_le(1));
        if (op == 'M') value->integer = static_cast<int64_t>(read_le(2));
        stack_.push_back(value);
        break;
      }
      case 0x8a:    // LONG1: little-endian two's complement of n bytes
      case 0x8b: {  // LONG4
        const uint64_t n = read_le(op == 0x8a ? 1 : 4);
        if (n > 8) fail("integer in pickle data does not fit in 64 bits");
        uint64_t v = read_le(n);
        if (n > 0 && n < 8 && (v >> (8 * n - 1)) != 0) v |= ~uint64_t(0) << (8 * n);
        PickledValue* value = make(K::kInt);
        value->integer = static_cast<int64_t>(v);
        stack_.push_back(value);
        break;
      }
      case 'G': {  // BINFLOAT: big-endian IEEE double
        need(8);
        uint64_t bits = 0;
        for (int i = 0; i < 8; ++i) bits = (bits << 8) | uint8_t(data_[pos_ + i]);
        pos_ += 8;
        PickledValue* value = make(K::kFloat);
        std::memcpy(&value->real, &bits, sizeof bits);
        stack_.push_back(value);
        break;
      }
      case 'X':    // BINUNICODE
      case 0x8c:   // SHORT_BINUNICODE
      case 0x8d:   // BINUNICODE8
      case 'T':    // BINSTRING
      case 'U': {  // SHORT_BINSTRING
        const size_t width = (op == 0x8c || op == 'U') ? 1 : op == 0x8d ? 8 : 4;
        const uint64_t length = read_le(width);
        PickledValue* value = make(K::kString);
        value->text = read_bytes(length);
        stack_.push_back(value);
        break;
      }
      case ')':
        stack_.push_back(make(K::kTuple));
        break;
      case 't': {
        std::vector<PickledValue*> items = pop_to_mark();
        PickledValue* value = make(K::kTuple);
        value->items = std::move(items);
        stack_.push_back(value);
        break;
      }
      case 0x85:
      case 0x86:
      case 0x87: {
        std::vector<PickledValue*> items(op - 0x84);
        for (auto it = items.rbegin(); it != items.rend(); ++it) *it = pop();
        PickledValue* value = make(K::kTuple);
        value->items = std::move(items);
        stack_.push_back(value);
        break;
      }
      case ']':
        stack_.push_back(make(K::kList));
        break;
      case 'l': {
        std::vector<PickledValue*> items = pop_to_mark();
        PickledValue* value = make(K::kList);
        value->items = std::move(items);
        stack_.push_back(value);
        break;
      }
      case 'a': {
        PickledValue* value = pop();
        expect(top(), K::kList, "append target")->items.push_back(value);
        break;
      }
      case 'e': {
        const std::vector<PickledValue*> values = pop_to_mark();
        auto& items = expect(top(), K::kList, "append target")->items;
        items.insert(items.end(), values.begin(), values.end());
        break;
      }
      case '}':
        stack_.push_back(make(K::kDict));
        break;
      case 'd':
      case 'u': {  // DICT / SETITEMS
        const std::vector<PickledValue*> values = pop_to_mark();
        if (values.size() % 2 != 0) fail("corrupt pickle data (odd number of dict items)");
        if (op == 'd') stack_.push_back(make(K::kDict));
        PickledValue& dict = *top();
        for (size_t i = 0; i < values.size(); i += 2) set_item(dict, values[i], values[i + 1]);
        break;
      }
      case 's': {
        PickledValue* value = pop();
        PickledValue* key = pop();
        set_item(*top(), key, value);
        break;
      }
      case 'c': {  // GLOBAL module\nname\n
        std::string module = read_line();
        stack_.push_back(global(std::move(module), read_line()));
        break;
      }
      case 0x93: {  // STACK_GLOBAL
        const PickledValue* name = expect(pop(), K::kString, "global name");
        const PickledValue* module = expect(pop(), K::kString, "global module");
        stack_.push_back(global(module->text, name->text));
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
        const PickledValue* args = pop();
        const PickledValue* callable = pop();
        stack_.push_back(reduce(*callable, *args));
        break;
      }
      case 'b': {  // BUILD: sets instance attributes
        pop();
        // A state dict carries its per-module versions as an attribute (_metadata);
        // nothing here uses them.
        const PickledValue* target = top();
        if (target->kind != K::kDict && target->kind != K::kTensor) {
          fail(std::string("corrupt pickle data (attributes set on a ") + kind_name(target->kind) +
               ")");
        }
        break;
      }
      case 'Q': {  // BINPERSID
        const PickledValue* pid = pop();
        stack_.push_back(persistent_load_(*pid));
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
