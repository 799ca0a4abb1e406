#include "greedyhash/retrieval/binary_codes.h"

#include <torch/types.h>
#include <cstring>
#include <string>

#include "greedyhash/error.h"

namespace greedyhash {

// row_bytes() and the byte conversions below read the words' bytes in memory order.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "BinaryCodes' byte layout assumes a little-endian machine");

namespace {

void check_bits(int64_t bits, const char* what) {
  if (bits < 1 || bits > BinaryCodes::kMaxBits) {
    throw Error(std::string(what) + ": code length must be 1.." +
                std::to_string(BinaryCodes::kMaxBits) + " bits, got " + std::to_string(bits));
  }
}

}  // namespace

BinaryCodes::BinaryCodes(int64_t size, int bits) {
  check_bits(bits, "BinaryCodes");
  if (size < 0) throw Error("BinaryCodes: size must be >= 0, got " + std::to_string(size));
  size_ = size;
  bits_ = bits;
  words_per_code_ = (bits + 63) / 64;
  words_.assign(static_cast<size_t>(size * words_per_code_), 0);
}

void BinaryCodes::set_bit(int64_t i, int j, bool value) {
  uint64_t& word = words_[static_cast<size_t>(i * words_per_code_ + (j >> 6))];
  const uint64_t mask = uint64_t{1} << (j & 63);
  word = value ? (word | mask) : (word & ~mask);
}

BinaryCodes BinaryCodes::from_tensor(const at::Tensor& n_by_k) {
  if (!n_by_k.defined() || n_by_k.dim() != 2) {
    throw Error("codes tensor must be 2-D (N x K), got " +
                (n_by_k.defined() ? std::to_string(n_by_k.dim()) + "-D" : "an undefined tensor"));
  }
  const auto type = n_by_k.scalar_type();
  if (!(c10::isFloatingType(type) || c10::isIntegralType(type, /*includeBool=*/false))) {
    throw Error(std::string("codes tensor must have a real or integer dtype, got ") +
                c10::toString(type));
  }
  if (type == at::kByte) {
    // 0 would read as +1 here; a 0/1 bit matrix must not pass silently as all +1.
    throw Error(
        "codes tensor is uint8, which cannot hold -1; pass +-1 as int8 or a float "
        "tensor, or packed bytes through BinaryCodes::from_packed_bytes");
  }
  check_bits(n_by_k.size(1), "codes tensor");
  if (c10::isFloatingType(type) && n_by_k.isnan().any().item<bool>()) {
    throw Error("codes tensor contains NaN; the network's outputs are not finite");
  }
  // Compare where the data lives, then move only the bool result to the CPU.
  const at::Tensor nonnegative = n_by_k.ge(0).to(at::kCPU).contiguous();
  BinaryCodes codes(n_by_k.size(0), static_cast<int>(n_by_k.size(1)));
  const bool* in = nonnegative.data_ptr<bool>();
  const int bits = codes.bits_;
  for (int64_t i = 0; i < codes.size_; ++i) {
    uint64_t* out = codes.words_.data() + i * codes.words_per_code_;
    const bool* row_in = in + i * bits;
    for (int j = 0; j < bits; ++j) {
      out[j >> 6] |= static_cast<uint64_t>(row_in[j]) << (j & 63);
    }
  }
  return codes;
}

BinaryCodes BinaryCodes::from_packed_bytes(const at::Tensor& n_by_bytes, int bits) {
  check_bits(bits, "packed codes");
  const int64_t bytes = (bits + 7) / 8;
  if (!n_by_bytes.defined() || n_by_bytes.dim() != 2 || n_by_bytes.scalar_type() != at::kByte ||
      n_by_bytes.size(1) != bytes) {
    throw Error("packed codes of " + std::to_string(bits) + " bits must be an N x " +
                std::to_string(bytes) + " uint8 tensor");
  }
  const at::Tensor in = n_by_bytes.to(at::kCPU).contiguous();
  BinaryCodes codes(in.size(0), bits);
  const uint8_t* src = in.data_ptr<uint8_t>();
  const int pad = static_cast<int>(bytes * 8 - bits);
  const uint8_t pad_mask = pad == 0 ? 0 : static_cast<uint8_t>(0xFFu << (8 - pad));
  for (int64_t i = 0; i < codes.size_; ++i) {
    const uint8_t* row_in = src + i * bytes;
    if ((row_in[bytes - 1] & pad_mask) != 0) {
      throw Error("packed codes row " + std::to_string(i) + " has bits set past bit " +
                  std::to_string(bits) + "; is the code length right?");
    }
    std::memcpy(codes.words_.data() + i * codes.words_per_code_, row_in,
                static_cast<size_t>(bytes));
  }
  return codes;
}

at::Tensor BinaryCodes::to_pm1(at::ScalarType dtype) const {
  if (dtype == at::kByte ||
      !(c10::isFloatingType(dtype) || c10::isIntegralType(dtype, /*includeBool=*/false))) {
    throw Error(std::string("to_pm1: dtype must be signed integer or floating, got ") +
                c10::toString(dtype));
  }
  at::Tensor out = at::empty({size_, bits_}, at::TensorOptions().dtype(at::kChar));
  int8_t* dst = out.data_ptr<int8_t>();
  for (int64_t i = 0; i < size_; ++i) {
    const uint64_t* words = row(i);
    for (int j = 0; j < bits_; ++j) {
      dst[i * bits_ + j] = ((words[j >> 6] >> (j & 63)) & 1u) ? 1 : -1;
    }
  }
  return dtype == at::kChar ? out : out.to(dtype);
}

std::string BinaryCodes::hex(int64_t i) const {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string text;
  const uint8_t* bytes = row_bytes(i);
  for (int b = 0; b < bytes_per_code(); ++b) {
    text += kDigits[bytes[b] >> 4];
    text += kDigits[bytes[b] & 15];
  }
  return text;
}

at::Tensor BinaryCodes::to_packed_bytes() const {
  const int64_t bytes = bytes_per_code();
  at::Tensor out = at::empty({size_, bytes}, at::TensorOptions().dtype(at::kByte));
  uint8_t* dst = out.data_ptr<uint8_t>();
  for (int64_t i = 0; i < size_; ++i) {
    std::memcpy(dst + i * bytes, row_bytes(i), static_cast<size_t>(bytes));
  }
  return out;
}

}  // namespace greedyhash
