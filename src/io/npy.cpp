#include "greedyhash/io/npy.h"

#include <torch/types.h>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "greedyhash/error.h"
#include "greedyhash/serialize/atomic_file.h"

namespace greedyhash {

// Tensor bytes are written and read as they lie in memory; .npy data here is '<'.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              ".npy I/O assumes a little-endian machine");

namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicSize = 6;
// numpy pads the header so that the data starts at a multiple of 64 bytes, and leaves
// room for the first dimension to grow to 21 digits (format.py's ARRAY_ALIGN and
// GROWTH_AXIS_MAX_DIGITS).
constexpr size_t kAlign = 64;
constexpr size_t kGrowthDigits = 21;

struct DtypeName {
  at::ScalarType type;
  const char* descr;  // as numpy writes it
};

constexpr DtypeName kDtypes[] = {
    {at::kByte, "|u1"},   {at::kChar, "|i1"}, {at::kShort, "<i2"},
    {at::kInt, "<i4"},    {at::kLong, "<i8"}, {at::kFloat, "<f4"},
    {at::kDouble, "<f8"}, {at::kBool, "|b1"}, {at::kHalf, "<f2"},
};

const char* supported_list() {
  return "u1, i1, i2, i4, i8, f2, f4, f8, b1 (little-endian)";
}

std::string shape_repr(at::IntArrayRef sizes) {
  std::string s = "(";
  for (size_t i = 0; i < sizes.size(); ++i) {
    if (i > 0) s += ", ";
    s += std::to_string(sizes[i]);
  }
  if (sizes.size() == 1) s += ",";
  return s + ")";
}

std::string npy_header(const char* descr, at::IntArrayRef sizes) {
  std::string dict = std::string("{'descr': '") + descr +
                     "', 'fortran_order': False, 'shape': " + shape_repr(sizes) + ", }";
  if (!sizes.empty()) dict.append(kGrowthDigits - std::to_string(sizes[0]).size(), ' ');
  const size_t unpadded = kMagicSize + 2 + 2 + dict.size() + 1;  // +1: the final '\n'
  const size_t pad = kAlign - unpadded % kAlign;
  const size_t header_len = dict.size() + pad + 1;
  if (header_len > 0xFFFF) throw Error("array has too many dimensions for an .npy 1.0 header");
  std::string out(kMagic, kMagicSize);
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(header_len & 0xFF);
  out += static_cast<char>((header_len >> 8) & 0xFF);
  out += dict;
  out.append(pad, ' ');
  out += '\n';
  return out;
}

[[noreturn]] void fail(const std::filesystem::path& path, const std::string& what) {
  throw Error(path.string() + ": " + what);
}

// The value text after `'key':` in the header dict, or empty when the key is missing.
std::string header_value(const std::string& header, const std::string& key) {
  for (const char quote : {'\'', '"'}) {
    const std::string token = quote + key + quote;
    const size_t at = header.find(token);
    if (at == std::string::npos) continue;
    size_t pos = header.find(':', at + token.size());
    if (pos == std::string::npos) return {};
    ++pos;
    while (pos < header.size() && header[pos] == ' ') ++pos;
    return header.substr(pos);
  }
  return {};
}

at::ScalarType parse_descr(const std::filesystem::path& path, const std::string& value) {
  if (value.empty() || (value[0] != '\'' && value[0] != '"')) {
    fail(path, "unsupported dtype (structured or missing 'descr'); supported: " +
                   std::string(supported_list()));
  }
  const size_t end = value.find(value[0], 1);
  if (end == std::string::npos) fail(path, "malformed .npy header (unterminated 'descr')");
  std::string descr = value.substr(1, end - 1);
  if (descr.size() == 3 && descr[0] == '>' && descr[2] != '1') {
    fail(path, "big-endian dtype '" + descr + "' is not supported; save it with astype('<" +
                   descr.substr(1) + "')");
  }
  // One-byte types have no byte order; numpy writes '|', other writers '<' or '>'.
  if (descr.size() == 3 && descr[2] == '1' && (descr[0] == '<' || descr[0] == '>')) {
    descr[0] = '|';
  }
  for (const DtypeName& d : kDtypes) {
    if (descr == d.descr) return d.type;
  }
  fail(path, "unsupported dtype '" + descr + "'; supported: " + supported_list());
}

std::vector<int64_t> parse_shape(const std::filesystem::path& path, const std::string& value) {
  if (value.empty() || value[0] != '(') fail(path, "malformed .npy header (no 'shape' tuple)");
  const size_t end = value.find(')');
  if (end == std::string::npos) fail(path, "malformed .npy header (unterminated 'shape')");
  std::vector<int64_t> shape;
  size_t pos = 1;
  while (pos < end) {
    while (pos < end && (value[pos] == ' ' || value[pos] == ',')) ++pos;
    if (pos >= end) break;
    size_t digits = pos;
    while (digits < end && value[digits] >= '0' && value[digits] <= '9') ++digits;
    if (digits == pos || digits - pos > 18) {
      fail(path, "malformed .npy header (shape " + value.substr(0, end + 1) + ")");
    }
    shape.push_back(std::stoll(value.substr(pos, digits - pos)));
    pos = digits;
  }
  return shape;
}

uint64_t read_le(const std::string& bytes, size_t at, size_t width) {
  uint64_t v = 0;
  for (size_t i = 0; i < width; ++i) {
    v |= static_cast<uint64_t>(static_cast<uint8_t>(bytes[at + i])) << (8 * i);
  }
  return v;
}

}  // namespace

void save_npy(const std::filesystem::path& path, const at::Tensor& tensor) {
  if (!tensor.defined()) throw Error("cannot save an undefined tensor to " + path.string());
  const char* descr = nullptr;
  for (const DtypeName& d : kDtypes) {
    if (d.type == tensor.scalar_type()) descr = d.descr;
  }
  if (descr == nullptr) {
    throw Error("cannot save " + std::string(c10::toString(tensor.scalar_type())) + " to " +
                path.string() + "; supported: " + supported_list());
  }
  const at::Tensor data = tensor.to(at::kCPU).contiguous();
  std::string bytes = npy_header(descr, data.sizes());
  bytes.append(static_cast<const char*>(data.data_ptr()), data.nbytes());
  write_file_atomically(path, bytes);
}

at::Tensor load_npy(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, "cannot open the file for reading");
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) fail(path, "read error");
  if (bytes.size() < kMagicSize + 4 || bytes.compare(0, kMagicSize, kMagic, kMagicSize) != 0) {
    fail(path, "not an .npy file (no \\x93NUMPY magic at the start)");
  }
  const int major = static_cast<uint8_t>(bytes[6]);
  size_t header_start = 0;
  size_t header_len = 0;
  if (major == 1) {
    header_start = 10;
    header_len = read_le(bytes, 8, 2);
  } else if ((major == 2 || major == 3) && bytes.size() >= 12) {
    header_start = 12;
    header_len = read_le(bytes, 8, 4);
  } else {
    fail(path, ".npy format version " + std::to_string(major) + " is not supported (1, 2, 3)");
  }
  if (bytes.size() < header_start + header_len) fail(path, "truncated .npy header");
  const std::string header = bytes.substr(header_start, header_len);

  const at::ScalarType type = parse_descr(path, header_value(header, "descr"));
  const std::string fortran = header_value(header, "fortran_order");
  if (fortran.rfind("True", 0) == 0) {
    fail(path, "Fortran-order arrays are not supported; save with np.ascontiguousarray(a)");
  }
  if (fortran.rfind("False", 0) != 0) fail(path, "malformed .npy header (no 'fortran_order')");
  const std::vector<int64_t> shape = parse_shape(path, header_value(header, "shape"));

  // The data must be in the file before anything is allocated for it.
  uint64_t nbytes = c10::elementSize(type);
  for (const int64_t size : shape) {
    if (__builtin_mul_overflow(nbytes, static_cast<uint64_t>(size), &nbytes)) {
      fail(path, "malformed .npy header (shape " + shape_repr(shape) + " is too large)");
    }
  }
  const size_t data_start = header_start + header_len;
  const size_t available = bytes.size() - data_start;
  if (available < nbytes) {
    fail(path, "truncated: the header promises " + std::to_string(nbytes) +
                   " bytes of data, the file has " + std::to_string(available));
  }
  at::Tensor tensor = at::empty(shape, at::TensorOptions().dtype(type));
  if (nbytes > 0) std::memcpy(tensor.data_ptr(), bytes.data() + data_start, nbytes);
  return tensor;
}

}  // namespace greedyhash
