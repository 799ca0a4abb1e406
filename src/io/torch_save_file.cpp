// torch.save files: a zip archive (LibTorch's own stream reader and writer) holding
// data.pkl, a pickle of the object in which every tensor refers to a storage record
// data/<key>; or, before PyTorch 1.6, pickles and raw storages in sequence. The pickle machine
// below understands exactly the subset of pickle protocols 2-4 that torch.save emits for dicts of
// tensors and plain values; the writer emits what Python's torch.save does for such a dict.

#include <ATen/ATen.h>
#include <caffe2/serialize/inline_container.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "greedyhash/error.h"
#include "greedyhash/io/atomic_file.h"
#include "greedyhash/io/torch_save_file.h"

namespace greedyhash {

namespace {

namespace fs = std::filesystem;

struct Node;
using NodePtr = std::shared_ptr<Node>;

// One pickled value. Lists and dicts are shared through the memo and mutated in place,
// hence the shared pointers.
struct Node {
  enum class Kind {
    kNone,
    kBool,
    kInt,
    kFloat,
    kString,
    kTuple,
    kList,
    kDict,
    kGlobal,
    kStorage,
    kTensor
  };
  Kind kind = Kind::kNone;
  bool boolean = false;
  int64_t integer = 0;
  double real = 0.0;
  std::string text;  // a string, or a global's "module.name"
  std::vector<NodePtr> items;
  std::vector<std::pair<NodePtr, NodePtr>> entries;
  std::unordered_map<std::string, size_t> entry_index;  // string/int key -> entries position
  at::Tensor tensor;                                    // a flat storage or a tensor
};

NodePtr make(Node::Kind kind) {
  auto node = std::make_shared<Node>();
  node->kind = kind;
  return node;
}

const char* kind_name(Node::Kind kind) {
  static constexpr const char* kNames[] = {
      "None",    "bool",  "int", "float", "str", "tuple", "list", "dict", "class or function",
      "storage", "tensor"};
  return kNames[static_cast<size_t>(kind)];
}

std::string first_line(const std::string& text) {
  return text.substr(0, text.find('\n'));
}

// Storage classes as torch.save names them (torch.<Name>), per element type.
constexpr std::array<std::pair<const char*, at::ScalarType>, 12> kStorageTypes{{
    {"FloatStorage", at::kFloat},
    {"DoubleStorage", at::kDouble},
    {"HalfStorage", at::kHalf},
    {"BFloat16Storage", at::kBFloat16},
    {"LongStorage", at::kLong},
    {"IntStorage", at::kInt},
    {"ShortStorage", at::kShort},
    {"CharStorage", at::kChar},
    {"ByteStorage", at::kByte},
    {"BoolStorage", at::kBool},
    {"ComplexFloatStorage", at::kComplexFloat},
    {"ComplexDoubleStorage", at::kComplexDouble},
}};

std::optional<at::ScalarType> storage_dtype(const std::string& global_name) {
  // Untyped storages (PyTorch >= 2) count bytes.
  if (global_name == "torch.UntypedStorage") return at::kByte;
  for (const auto& [name, dtype] : kStorageTypes) {
    if (global_name == std::string("torch.") + name) return dtype;
  }
  return std::nullopt;
}

std::string shape_text(at::IntArrayRef sizes) {
  std::string text = "[";
  for (size_t d = 0; d < sizes.size(); ++d) {
    text += (d > 0 ? ", " : "") + std::to_string(sizes[d]);
  }
  return text + "]";
}

// Turns a persistent id (a storage reference) into a storage node.
using PersistentLoad = std::function<NodePtr(const NodePtr& pid)>;

// torch.save's persistent id: ('storage', torch.<Type>Storage, key, location, numel[,
// view]); the zip format has no view entry, the legacy one None there.
struct StorageRef {
  std::string key;
  at::ScalarType dtype;
  int64_t numel;
};

StorageRef parse_storage_ref(const NodePtr& pid, const std::string& file) {
  const auto bad = [&](const std::string& what) { return Error(file + ": " + what); };
  if (pid->kind != Node::Kind::kTuple) throw bad("unsupported persistent id in pickle data");
  const auto& f = pid->items;
  if (f.size() < 5 || f[0]->kind != Node::Kind::kString || f[0]->text != "storage" ||
      f[1]->kind != Node::Kind::kGlobal || f[2]->kind != Node::Kind::kString ||
      f[4]->kind != Node::Kind::kInt) {
    throw bad("unsupported persistent id in pickle data (not a torch.save storage reference)");
  }
  if (f.size() > 5 && f[5]->kind != Node::Kind::kNone) {
    throw bad("unsupported storage view in pickle data");
  }
  const auto dtype = storage_dtype(f[1]->text);
  if (!dtype) throw bad("unsupported storage type " + f[1]->text);
  const int64_t numel = f[4]->integer;
  if (numel < 0 || numel > (int64_t{1} << 50)) {
    throw bad("corrupt pickle data (bad storage size)");
  }
  return {f[2]->text, *dtype, numel};
}

NodePtr storage_node(at::Tensor flat) {
  auto node = make(Node::Kind::kStorage);
  node->tensor = std::move(flat);
  return node;
}

// The pickle machine (reading). Errors throw greedyhash::Error prefixed with the file name.
class PickleReader {
 public:
  PickleReader(std::string file, PersistentLoad persistent_load, const char* data, size_t size)
      : file_(std::move(file)),
        persistent_load_(std::move(persistent_load)),
        data_(data),
        size_(size) {}

  // Runs one pickle to its STOP and returns its value.
  NodePtr run();
  // Bytes consumed so far (where the next pickle of a legacy file starts).
  size_t position() const { return pos_; }

 private:
  [[noreturn]] void fail(std::string what) const {
    // Names read from a damaged file may hold any byte; keep the message one printable line.
    for (char& c : what) {
      if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
    }
    throw Error(file_ + ": " + what);
  }
  void need(size_t n) const {
    if (size_ - pos_ < n) fail("truncated pickle data (data.pkl)");
  }
  uint64_t read_le(size_t n) {
    need(n);
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) v |= uint64_t(uint8_t(data_[pos_ + i])) << (8 * i);
    pos_ += n;
    return v;
  }
  std::string read_bytes(uint64_t n) {
    need(n);
    std::string s(data_ + pos_, n);
    pos_ += n;
    return s;
  }
  std::string read_line() {
    const void* end = std::memchr(data_ + pos_, '\n', size_ - pos_);
    if (end == nullptr) fail("truncated pickle data (data.pkl)");
    const size_t n = static_cast<const char*>(end) - (data_ + pos_);
    std::string s(data_ + pos_, n);
    pos_ += n + 1;
    return s;
  }

  NodePtr pop() {
    if (stack_.empty() || (!marks_.empty() && stack_.size() <= marks_.back())) {
      fail("corrupt pickle data (stack underflow)");
    }
    auto node = std::move(stack_.back());
    stack_.pop_back();
    return node;
  }
  NodePtr& top() {
    if (stack_.empty()) fail("corrupt pickle data (stack underflow)");
    return stack_.back();
  }
  std::vector<NodePtr> pop_to_mark() {
    if (marks_.empty()) fail("corrupt pickle data (no mark)");
    const size_t mark = marks_.back();
    marks_.pop_back();
    if (mark > stack_.size()) fail("corrupt pickle data (bad mark)");
    std::vector<NodePtr> items(std::make_move_iterator(stack_.begin() + mark),
                               std::make_move_iterator(stack_.end()));
    stack_.resize(mark);
    return items;
  }
  NodePtr memo_get(uint64_t id) {
    const auto it = memo_.find(id);
    if (it == memo_.end()) fail("corrupt pickle data (unknown memo entry)");
    return it->second;
  }
  NodePtr tuple(std::vector<NodePtr> items) {
    auto node = make(Node::Kind::kTuple);
    node->items = std::move(items);
    return node;
  }
  NodePtr expect(const NodePtr& node, Node::Kind kind, const char* what) const {
    if (node->kind != kind) {
      fail(std::string("corrupt pickle data (") + what + " is a " + kind_name(node->kind) +
           ", expected " + kind_name(kind) + ")");
    }
    return node;
  }

  void set_item(Node& dict, NodePtr key, NodePtr value) const;
  NodePtr reduce(const NodePtr& callable, const NodePtr& args);
  NodePtr rebuild_tensor(const NodePtr& args);

  std::string file_;
  PersistentLoad persistent_load_;
  const char* data_;
  size_t size_;
  size_t pos_ = 0;
  std::vector<NodePtr> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, NodePtr> memo_;
};

void PickleReader::set_item(Node& dict, NodePtr key, NodePtr value) const {
  if (dict.kind != Node::Kind::kDict) fail("corrupt pickle data (item set on a non-dict)");
  // Later assignments to an existing key replace it, as in Python.
  std::string index_key;
  if (key->kind == Node::Kind::kString) index_key = "s" + key->text;
  if (key->kind == Node::Kind::kInt) index_key = "i" + std::to_string(key->integer);
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

NodePtr PickleReader::rebuild_tensor(const NodePtr& args) {
  // _rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata]);
  // the older _rebuild_tensor has only the first four.
  const auto& a = expect(args, Node::Kind::kTuple, "tensor arguments")->items;
  if (a.size() < 4 || a[0]->kind != Node::Kind::kStorage || a[1]->kind != Node::Kind::kInt ||
      a[2]->kind != Node::Kind::kTuple || a[3]->kind != Node::Kind::kTuple ||
      a[2]->items.size() != a[3]->items.size()) {
    fail("corrupt pickle data (malformed tensor)");
  }
  std::vector<int64_t> sizes, strides;
  for (size_t d = 0; d < a[2]->items.size(); ++d) {
    const auto& size = a[2]->items[d];
    const auto& stride = a[3]->items[d];
    if (size->kind != Node::Kind::kInt || stride->kind != Node::Kind::kInt || size->integer < 0 ||
        stride->integer < 0) {
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
  auto node = make(Node::Kind::kTensor);
  node->tensor = storage.as_strided(sizes, strides, empty ? 0 : offset);
  return node;
}

NodePtr PickleReader::reduce(const NodePtr& callable, const NodePtr& args) {
  if (callable->kind != Node::Kind::kGlobal) fail("corrupt pickle data (call of a non-class)");
  const std::string& name = callable->text;
  expect(args, Node::Kind::kTuple, "call arguments");
  if (name == "collections.OrderedDict") {
    // torch.save emits OrderedDict() and then sets its items; a tensor's (empty)
    // backward-hook table is one too.
    if (!args->items.empty()) fail("unsupported OrderedDict construction in pickle data");
    return make(Node::Kind::kDict);
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

NodePtr PickleReader::run() {
  using K = Node::Kind;
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
        stack_.push_back(make(K::kNone));
        break;
      case 0x88:
      case 0x89: {
        auto node = make(K::kBool);
        node->boolean = op == 0x88;
        stack_.push_back(node);
        break;
      }
      case 'J':
      case 'K':
      case 'M': {
        auto node = make(K::kInt);
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
        auto node = make(K::kInt);
        node->integer = static_cast<int64_t>(v);
        stack_.push_back(node);
        break;
      }
      case 'G': {  // BINFLOAT: big-endian IEEE double
        need(8);
        uint64_t bits = 0;
        for (int i = 0; i < 8; ++i) bits = (bits << 8) | uint8_t(data_[pos_ + i]);
        pos_ += 8;
        auto node = make(K::kFloat);
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
        auto node = make(K::kString);
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
        std::vector<NodePtr> items(op - 0x84);
        for (auto it = items.rbegin(); it != items.rend(); ++it) *it = pop();
        stack_.push_back(tuple(std::move(items)));
        break;
      }
      case ']':
        stack_.push_back(make(K::kList));
        break;
      case 'l': {
        auto node = make(K::kList);
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
        stack_.push_back(make(K::kDict));
        break;
      case 'd':
      case 'u': {  // DICT / SETITEMS
        auto values = pop_to_mark();
        if (values.size() % 2 != 0) fail("corrupt pickle data (odd number of dict items)");
        if (op == 'd') stack_.push_back(make(K::kDict));
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
        auto node = make(K::kGlobal);
        const std::string module = read_line();
        node->text = module + "." + read_line();
        stack_.push_back(node);
        break;
      }
      case 0x93: {  // STACK_GLOBAL
        auto name = expect(pop(), K::kString, "global name");
        auto module = expect(pop(), K::kString, "global module");
        auto node = make(K::kGlobal);
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

c10::IValue to_ivalue(const Node& node, const std::string& file) {
  switch (node.kind) {
    case Node::Kind::kNone:
      return c10::IValue();
    case Node::Kind::kBool:
      return c10::IValue(node.boolean);
    case Node::Kind::kInt:
      return c10::IValue(node.integer);
    case Node::Kind::kFloat:
      return c10::IValue(node.real);
    case Node::Kind::kString:
      return c10::IValue(node.text);
    case Node::Kind::kTensor:
      return c10::IValue(node.tensor);
    case Node::Kind::kTuple: {
      std::vector<c10::IValue> items;
      for (const auto& item : node.items) items.push_back(to_ivalue(*item, file));
      return c10::ivalue::Tuple::create(std::move(items));
    }
    case Node::Kind::kList: {
      c10::impl::GenericList list(c10::AnyType::get());
      for (const auto& item : node.items) list.push_back(to_ivalue(*item, file));
      return list;
    }
    case Node::Kind::kDict: {
      c10::impl::GenericDict dict(c10::AnyType::get(), c10::AnyType::get());
      for (const auto& [key, value] : node.entries) {
        dict.insert_or_assign(to_ivalue(*key, file), to_ivalue(*value, file));
      }
      return dict;
    }
    case Node::Kind::kGlobal:
    case Node::Kind::kStorage:
      break;
  }
  throw Error(file + ": holds a bare " + kind_name(node.kind) +
              "; only tensors and plain values (a state dict) can be read");
}

// Emits pickle protocol 2 the way Python's pickler does for a dict of tensors and plain
// values (without memo entries, which the format does not require).
class PickleWriter {
 public:
  void begin_dict() {
    out_ += "\x80\x02}(";  // PROTO 2, EMPTY_DICT, MARK
  }
  void end_dict() {
    out_ += "u.";  // SETITEMS, STOP
  }

  void value(const c10::IValue& v, const std::string& key) {
    if (v.isTensor()) return tensor(v.toTensor(), key);
    if (v.isNone()) return op('N');
    if (v.isBool()) return op(v.toBool() ? '\x88' : '\x89');
    if (v.isInt()) return integer(v.toInt());
    if (v.isDouble()) return real(v.toDouble());
    if (v.isString()) return string(v.toStringRef());
    throw std::invalid_argument("torch_save_bytes: entry " + key + " has unsupported type " +
                                v.tagKind());
  }

  void string(const std::string& s) {
    op('X');
    le(s.size(), 4);
    out_ += s;
  }

  const std::string& bytes() const { return out_; }
  // Tensors to store as data/<index>, contiguous and on the CPU.
  const std::vector<at::Tensor>& storages() const { return storages_; }

 private:
  void op(char c) { out_ += c; }
  void le(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) out_ += static_cast<char>((v >> (8 * i)) & 0xff);
  }
  void global(const char* module, const std::string& name) {
    out_ += 'c';
    out_ += module;
    out_ += '\n' + name + '\n';
  }
  void integer(int64_t v) {
    if (v >= 0 && v < 256) {
      op('K');
      le(static_cast<uint64_t>(v), 1);
    } else if (v >= 0 && v < 65536) {
      op('M');
      le(static_cast<uint64_t>(v), 2);
    } else if (v >= INT32_MIN && v <= INT32_MAX) {
      op('J');
      le(static_cast<uint32_t>(static_cast<int32_t>(v)), 4);
    } else {
      out_ += "\x8a\x08";  // LONG1 of 8 bytes, two's complement
      le(static_cast<uint64_t>(v), 8);
    }
  }
  void real(double v) {
    uint64_t bits = 0;
    std::memcpy(&bits, &v, sizeof bits);
    op('G');
    for (int i = 7; i >= 0; --i) out_ += static_cast<char>((bits >> (8 * i)) & 0xff);
  }
  void int_tuple(at::IntArrayRef values) {
    op('(');
    for (const int64_t v : values) integer(v);
    op('t');
  }
  void tensor(const at::Tensor& t, const std::string& key) {
    if (!t.defined() || t.is_meta() || t.is_sparse() || t.is_quantized()) {
      throw std::invalid_argument("torch_save_bytes: entry " + key +
                                  " is not a dense tensor with data");
    }
    const char* storage = nullptr;
    for (const auto& [name, dtype] : kStorageTypes) {
      if (dtype == t.scalar_type()) storage = name;
    }
    if (storage == nullptr) {
      throw std::invalid_argument("torch_save_bytes: entry " + key + " has unsupported dtype " +
                                  std::string(c10::toString(t.scalar_type())));
    }
    const at::Tensor data = t.detach().to(at::kCPU).contiguous();
    // _rebuild_tensor_v2(('storage', torch.<Type>Storage, key, 'cpu', numel), offset 0,
    //                    size, stride, requires_grad False, OrderedDict())
    global("torch._utils", "_rebuild_tensor_v2");
    op('(');
    op('(');
    string("storage");
    global("torch", storage);
    string(std::to_string(storages_.size()));
    string("cpu");
    integer(data.numel());
    op('t');
    op('Q');
    integer(0);
    int_tuple(data.sizes());
    int_tuple(data.strides());
    op('\x89');
    global("collections", "OrderedDict");
    out_ += ")R";
    out_ += "tR";
    storages_.push_back(data);
  }

  std::string out_;
  std::vector<at::Tensor> storages_;
};

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

// The zip format (PyTorch >= 1.6): data.pkl, and each storage as a record data/<key>.
NodePtr read_zip_root(const fs::path& file, TensorData tensors) {
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
  std::unordered_map<std::string, NodePtr> storages;
  const auto load = [&](const NodePtr& pid) {
    const StorageRef ref = parse_storage_ref(pid, name);
    NodePtr& node = storages[ref.key];
    if (node) return node;
    const auto options = at::TensorOptions().dtype(ref.dtype);
    const std::string record = "data/" + ref.key;
    if (!archive.hasRecord(record)) throw Error(name + ": missing storage record " + record);
    if (tensors == TensorData::kShapesOnly) {
      node = storage_node(at::empty({ref.numel}, options.device(at::kMeta)));
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
    node = storage_node(at::from_blob(
        raw != nullptr ? raw : empty.data(), {ref.numel}, [owner](void*) mutable { owner.reset(); },
        options));
    return node;
  };
  auto [pickle, pickle_size] = archive.getRecord("data.pkl");
  return PickleReader(name, load, static_cast<const char*>(pickle.get()), pickle_size).run();
}

// The legacy format (PyTorch < 1.6; files published before 2021 use it): pickles of a
// magic number, the protocol version, system information, the object itself and the
// list of storage keys, then each storage as an int64 element count and its raw bytes.
NodePtr read_legacy_root(const fs::path& file, TensorData tensors) {
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
    PickleReader reader(name, std::move(load), bytes.data() + pos, bytes.size() - pos);
    NodePtr value = reader.run();
    pos += reader.position();
    return value;
  };
  const PersistentLoad no_storage = [&](const NodePtr&) -> NodePtr {
    throw Error(name + ": corrupt legacy torch.save header");
  };
  const NodePtr version = next(no_storage);
  if (version->kind != Node::Kind::kInt || version->integer != 1001) {
    throw Error(name + ": unsupported legacy torch.save protocol version");
  }
  const NodePtr sys_info = next(no_storage);
  for (const auto& [key, value] : sys_info->entries) {
    if (key->text == "little_endian" && value->kind == Node::Kind::kBool && !value->boolean) {
      throw Error(name + ": big-endian tensor data is not supported");
    }
  }
  std::unordered_map<std::string, NodePtr> storages;
  const NodePtr root = next([&](const NodePtr& pid) {
    const StorageRef ref = parse_storage_ref(pid, name);
    NodePtr& node = storages[ref.key];
    if (!node) {
      // Every storage's bytes follow in the file: a larger one means a damaged file.
      if (static_cast<size_t>(ref.numel) * c10::elementSize(ref.dtype) > bytes.size()) {
        throw Error(name + ": truncated storage data");
      }
      const auto device = tensors == TensorData::kLoad ? at::kCPU : at::kMeta;
      node =
          storage_node(at::empty({ref.numel}, at::TensorOptions().dtype(ref.dtype).device(device)));
    }
    return node;
  });
  const NodePtr keys = next(no_storage);
  if (keys->kind != Node::Kind::kList) throw Error(name + ": corrupt legacy storage list");
  if (tensors == TensorData::kShapesOnly) return root;
  for (const auto& key : keys->items) {
    const auto found = storages.find(key->text);
    if (key->kind != Node::Kind::kString || found == storages.end()) {
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

}  // namespace

TorchSaveDict read_torch_save_dict(const fs::path& file, TensorData tensors) {
  const std::string name = file.string();
  try {
    const NodePtr root = detect_container(file) == Container::kZip
                             ? read_zip_root(file, tensors)
                             : read_legacy_root(file, tensors);
    if (root->kind != Node::Kind::kDict) {
      throw Error(name + ": holds a " + kind_name(root->kind) + ", expected a dict (a state dict)");
    }
    TorchSaveDict result("Entry");
    for (const auto& [key, value] : root->entries) {
      if (key->kind != Node::Kind::kString) {
        throw Error(name + ": has a key of type " + std::string(kind_name(key->kind)) +
                    ", expected string keys (a state dict)");
      }
      result.insert(key->text, to_ivalue(*value, name));
    }
    return result;
  } catch (const c10::Error& e) {
    // The zip reader's errors (truncated archive, bad CRC, ...).
    throw Error(name + ": corrupt or truncated file (" + first_line(e.what_without_backtrace()) +
                ")");
  }
}

StateDict read_state_dict(const fs::path& file, TensorData tensors) {
  StateDict result("Tensor");
  for (const auto& item : read_torch_save_dict(file, tensors)) {
    if (item.value().isTensor()) result.insert(item.key(), item.value().toTensor());
  }
  if (result.is_empty()) throw Error(file.string() + ": holds no tensors, expected a state dict");
  return result;
}

std::string torch_save_bytes(const TorchSaveDict& entries) {
  PickleWriter pickler;
  pickler.begin_dict();
  for (const auto& item : entries) {
    pickler.string(item.key());
    pickler.value(item.value(), item.key());
  }
  pickler.end_dict();

  std::string archive_bytes;
  {
    caffe2::serialize::PyTorchStreamWriter writer([&](const void* buf, size_t n) -> size_t {
      // A null buffer asks to skip n bytes; in a fresh buffer that means zeros.
      if (buf == nullptr) {
        archive_bytes.append(n, '\0');
      } else {
        archive_bytes.append(static_cast<const char*>(buf), n);
      }
      return n;
    });
    writer.writeRecord("data.pkl", pickler.bytes().data(), pickler.bytes().size());
    writer.writeRecord("byteorder", "little", 6);
    static const char kNothing = 0;
    const auto& storages = pickler.storages();
    for (size_t i = 0; i < storages.size(); ++i) {
      const auto& data = storages[i];
      const size_t nbytes = data.numel() * data.element_size();
      writer.writeRecord("data/" + std::to_string(i), nbytes > 0 ? data.data_ptr() : &kNothing,
                         nbytes);
    }
    writer.writeEndOfFile();
  }
  return archive_bytes;
}

void write_torch_save_dict(const fs::path& file, const TorchSaveDict& entries) {
  write_file_atomically(file, torch_save_bytes(entries));
}

void copy_named_tensors(const StateDict& source, const StateDict& targets, const fs::path& file) {
  // Check everything first so that a bad file leaves the targets untouched.
  for (const auto& target : targets) {
    const at::Tensor* found = source.find(target.key());
    if (found == nullptr) {
      throw Error(file.string() + ": no entry " + target.key() + " (expected shape " +
                  shape_text(target.value().sizes()) + ")");
    }
    if (found->sizes() != target.value().sizes()) {
      throw Error(file.string() + ": entry " + target.key() + " has shape " +
                  shape_text(found->sizes()) + " but the model expects " +
                  shape_text(target.value().sizes()));
    }
  }
  at::NoGradGuard no_grad;
  for (const auto& target : targets) target.value().copy_(source[target.key()]);
}

}  // namespace greedyhash
