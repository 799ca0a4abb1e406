#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

namespace greedyhash {

// N hash codes of K bits each (1 <= K <= 1024), packed into 64-bit words.
//
// Bit j of a code is 1 when the code's j-th entry is +1, that is when h_j >= 0
// (sign(0) = +1, docs/PROTOCOL.md section 1.2). Bit j lives in word j / 64 at bit j % 64
// (least significant bit first); the unused high bits of the last word are always 0, so
// the Hamming distance of two rows is the popcount of their XOR over all words.
//
// Byte layout (to_packed_bytes, row_bytes): bit j is in byte j / 8 at bit j % 8, least
// significant bit first, ceil(K / 8) bytes per code. This is FAISS's binary-code layout
// (IndexBinaryFlat, Milvus BINARY_VECTOR) and numpy.packbits(b, axis=1,
// bitorder="little") of the 0/1 matrix b.
class BinaryCodes {
 public:
  static constexpr int kMaxBits = 1024;

  // No codes, no bit length; only useful as a placeholder to assign to.
  BinaryCodes() = default;
  // `size` codes of `bits` bits, all bits 0 (every entry -1).
  BinaryCodes(int64_t size, int bits);

  // Codes from an N x K tensor of any real or integer dtype (continuous h or +-1 codes),
  // on any device (copied to the CPU): bit j = (h_j >= 0). NaN entries are an error.
  static BinaryCodes from_tensor(const at::Tensor& n_by_k);
  // The inverse of to_packed_bytes: an N x ceil(bits / 8) uint8 tensor in the byte layout
  // above. Padding bits past `bits` must be 0.
  static BinaryCodes from_packed_bytes(const at::Tensor& n_by_bytes, int bits);

  // N x K tensor of -1/+1 in `dtype` (int8, int16, int32, int64, float16/32/64).
  at::Tensor to_pm1(at::ScalarType dtype = at::kChar) const;
  // N x ceil(K / 8) uint8 tensor in the FAISS byte layout described above.
  at::Tensor to_packed_bytes() const;

  int64_t size() const { return size_; }
  int bits() const { return bits_; }
  int words_per_code() const { return words_per_code_; }
  int bytes_per_code() const { return (bits_ + 7) / 8; }

  // Row i: words_per_code() words.
  const uint64_t* row(int64_t i) const { return words_.data() + i * words_per_code_; }
  // Row i as bytes_per_code() bytes in the FAISS layout. On a little-endian machine (the
  // only kind this project builds for) the words' bytes already are that layout.
  const uint8_t* row_bytes(int64_t i) const { return reinterpret_cast<const uint8_t*>(row(i)); }
  // Row i as text: its row_bytes, first byte first, two lowercase hex digits each (the
  // 48-bit code with only bit 0 set is "010000000000").
  std::string hex(int64_t i) const;
  // All rows, size() * words_per_code() words.
  const uint64_t* data() const { return words_.data(); }

  bool bit(int64_t i, int j) const { return (row(i)[j >> 6] >> (j & 63)) & 1u; }
  void set_bit(int64_t i, int j, bool value);

 private:
  int64_t size_ = 0;
  int bits_ = 0;
  int words_per_code_ = 0;
  std::vector<uint64_t> words_;
};

}  // namespace greedyhash
