#include "pickle_writer.h"

#include <ATen/ATen.h>

#include <cstring>
#include <stdexcept>

#include "torch_storage.h"

namespace greedyhash::detail {

void PickleWriter::begin_dict() {
  out_ += "\x80\x02}(";  // PROTO 2, EMPTY_DICT, MARK
}

void PickleWriter::end_dict() {
  out_ += "u.";  // SETITEMS, STOP
}

void PickleWriter::value(const c10::IValue& v, const std::string& key) {
  if (v.isTensor()) return tensor(v.toTensor(), key);
  if (v.isNone()) return op('N');
  if (v.isBool()) return op(v.toBool() ? '\x88' : '\x89');
  if (v.isInt()) return integer(v.toInt());
  if (v.isDouble()) return real(v.toDouble());
  if (v.isString()) return string(v.toStringRef());
  throw std::invalid_argument("torch_save_bytes: entry " + key + " has unsupported type " +
                              v.tagKind());
}

void PickleWriter::string(const std::string& s) {
  op('X');
  le(s.size(), 4);
  out_ += s;
}

void PickleWriter::le(uint64_t v, int n) {
  for (int i = 0; i < n; ++i) out_ += static_cast<char>((v >> (8 * i)) & 0xff);
}

void PickleWriter::global(const char* module, const std::string& name) {
  out_ += 'c';
  out_ += module;
  out_ += '\n' + name + '\n';
}

void PickleWriter::integer(int64_t v) {
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

void PickleWriter::real(double v) {
  uint64_t bits = 0;
  std::memcpy(&bits, &v, sizeof bits);
  op('G');
  for (int i = 7; i >= 0; --i) out_ += static_cast<char>((bits >> (8 * i)) & 0xff);
}

void PickleWriter::int_tuple(at::IntArrayRef values) {
  op('(');
  for (const int64_t v : values) integer(v);
  op('t');
}

void PickleWriter::tensor(const at::Tensor& t, const std::string& key) {
  if (!t.defined() || t.is_meta() || t.is_sparse() || t.is_quantized()) {
    throw std::invalid_argument("torch_save_bytes: entry " + key +
                                " is not a dense tensor with data");
  }
  const char* storage = storage_type_name(t.scalar_type());
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

}  // namespace greedyhash::detail
