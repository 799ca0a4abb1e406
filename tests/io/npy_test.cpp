#include "greedyhash/io/npy.h"

#include <gtest/gtest.h>

#include <torch/torch.h>
#include "test_support.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace greedyhash {
namespace {

namespace fs = std::filesystem;

// Fixtures written by numpy's np.save: see tests/data/retrieval/make_fixtures.py.
const fs::path kData = fs::path(GREEDYHASH_TEST_DATA_DIR) / "retrieval";

fs::path scratch(const std::string& name) {
  const fs::path folder = test_folder("npy_test");
  fs::create_directories(folder);
  return folder / name;
}

// Each fixture and the tensor it holds.
struct Fixture {
  const char* file;
  torch::Tensor expected;
};

std::vector<Fixture> fixtures() {
  return {
      {"u1.npy", torch::arange(6, torch::kUInt8).reshape({2, 3})},
      {"i1.npy", torch::tensor({{-1, 1, -1}, {1, 1, -1}}, torch::kInt8)},
      {"i2.npy", torch::tensor({-32768, 5, 32767}, torch::kInt16)},
      {"i4.npy", torch::tensor({-2, 0, 7, 2147483647}, torch::kInt32)},
      {"i8.npy", torch::tensor({{-(int64_t{1} << 40), int64_t{1}}, {int64_t{3}, int64_t{1} << 62}},
                               torch::kInt64)},
      {"f4.npy", torch::tensor({{0.5f, -1.25f, 3.0f}})},
      {"f8.npy", torch::tensor({{1e-300, -2.5}, {3.141592653589793, 0.0}}, torch::kFloat64)},
      {"b1.npy", torch::tensor({true, false, true})},
      {"f8_scalar.npy", torch::scalar_tensor(2.5, torch::kFloat64)},
      {"u1_empty.npy", torch::zeros({0, 4}, torch::kUInt8)},
      {"f4_wide_first_dim.npy", torch::zeros({123456789012, 0}, torch::kFloat32)},
  };
}

TEST(Npy, WritesTheSameBytesAsNumpy) {
  for (const Fixture& f : fixtures()) {
    SCOPED_TRACE(f.file);
    const fs::path out = scratch(f.file);
    save_npy(out, f.expected);
    const std::string ours = read_file_bytes(out);
    const std::string numpys = read_file_bytes(kData / f.file);
    ASSERT_FALSE(numpys.empty());
    EXPECT_EQ(ours, numpys);
    EXPECT_EQ((ours.find('\n') + 1) % 64, 0u) << "data must start on a 64-byte boundary";
  }
}

TEST(Npy, LoadsNumpyFiles) {
  for (const Fixture& f : fixtures()) {
    SCOPED_TRACE(f.file);
    const torch::Tensor loaded = load_npy(kData / f.file);
    EXPECT_EQ(loaded.scalar_type(), f.expected.scalar_type());
    EXPECT_EQ(loaded.sizes(), f.expected.sizes());
    EXPECT_TRUE(torch::equal(loaded, f.expected));
  }
}

TEST(Npy, SavesNonContiguousTensorsInCOrder) {
  const auto t = torch::arange(6, torch::kInt32).reshape({2, 3}).t();  // 3 x 2 view
  const fs::path out = scratch("transposed.npy");
  save_npy(out, t);
  EXPECT_TRUE(torch::equal(load_npy(out), t.contiguous()));
}

// float16 (embeddings are often stored so): numpy's own file of arange(3).
TEST(Npy, ReadsNumpysFloat16) {
  const auto values = load_npy(kData / "f2.npy");
  EXPECT_EQ(values.scalar_type(), torch::kHalf);
  EXPECT_TRUE(torch::equal(values.to(torch::kFloat), torch::tensor({0.f, 1.f, 2.f})));
}

TEST(Npy, ClearErrors) {
  expect_error_containing([] { load_npy(kData / "no_such_file.npy"); }, "cannot open");
  const fs::path text = scratch("not_npy.npy");
  std::ofstream(text) << "hello, this is text\n";
  expect_error_containing([&] { load_npy(text); }, "not an .npy file");
  expect_error_containing([] { load_npy(kData / "fortran.npy"); }, "Fortran-order");
  expect_error_containing([] { load_npy(kData / "big_endian.npy"); }, "big-endian dtype '>i4'");
  // A complex dtype, written by hand as numpy writes its header.
  const fs::path complex = scratch("c8.npy");
  {
    std::string header = "{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }";
    header.append(128 - 10 - header.size() - 1, ' ');
    std::ofstream(complex, std::ios::binary)
        << std::string("\x93NUMPY\x01\x00", 8) << static_cast<char>(header.size() + 1) << '\0'
        << header << '\n'
        << std::string(8, '\0');
  }
  expect_error_containing([&] { load_npy(complex); }, "unsupported dtype '<c8'");
  const std::string whole = read_file_bytes(kData / "f8.npy");
  const fs::path cut = scratch("truncated.npy");
  std::ofstream(cut, std::ios::binary) << whole.substr(0, whole.size() - 3);
  expect_error_containing([&] { load_npy(cut); }, "truncated");
  expect_error_containing([&] { load_npy(cut); }, cut.string());
  expect_error_containing(
      [] { save_npy(scratch("bf16.npy"), torch::zeros({2}, torch::kBFloat16)); },
      "cannot save BFloat16");
}

// A header of numpy's own layout around `shape` (a Python tuple) with `data` after it.
std::string npy_with_shape(const std::string& shape, const std::string& data) {
  std::string dict = "{'descr': '|u1', 'fortran_order': False, 'shape': " + shape + ", }";
  dict.append(63 - (10 + dict.size()) % 64, ' ');
  dict += '\n';
  std::string out("\x93NUMPY\x01\x00", 8);
  out += static_cast<char>(dict.size() & 0xff);
  out += static_cast<char>(dict.size() >> 8);
  return out + dict + data;
}

TEST(Npy, ShapesLargerThanTheDataAreErrorsBeforeAnyAllocation) {
  const fs::path file = scratch("hostile_shape.npy");
  const auto load_with = [&](const std::string& shape, const std::string& data) {
    std::ofstream(file, std::ios::binary) << npy_with_shape(shape, data);
    return load_npy(file);
  };
  EXPECT_TRUE(torch::equal(load_with("(2, 2)", "abcd"),
                           torch::tensor({{97, 98}, {99, 100}}, torch::kUInt8)));
  EXPECT_EQ(load_with("(0, 12)", "").sizes(), (std::vector<int64_t>{0, 12}));
  // 100 PB promised by a 64-byte header: an allocation of that size used to be tried first.
  expect_error_containing([&] { load_with("(100000000000000000,)", "abcd"); },
                          "the header promises 100000000000000000 bytes of data, the file has 4");
  expect_error_containing([&] { load_with("(100000000000000000, 100000000000000000)", "ab"); },
                          "is too large");
  expect_error_containing([&] { load_with("(100000000000000000, 1000)", "ab"); }, file.string());
}

TEST(Npy, FuzzFindingANewlineInTheDtypeIsStillAOneLineError) {
  // fuzz_npy found this header (minimised): its 'descr' string holds a newline, which the
  // error message quoted, breaking the one-line contract (docs/FUZZING.md, finding 1).
  const std::string bytes(
      "\x93\x4e\x55\x4d\x50\x59\x01\x00\x76\x00\x7b\x27\x64\x65\x73\x63"
      "\x72\x27\x3a\x20\x27\x7c\x69\x20\x20\x20\x20\x20\x20\x20\x20\x20"
      "\x20\x20\x20\x20\x20\x20\x20\x0a\xff\x00\x31\x27\x2c\x2d\x20\x27"
      "\x6f\x72\x74\x72\x61\x6e\x5f\x6f\x72\x64\x65\x9b\x27\x3a\x20\x46"
      "\x20\x20\xff\x00\x00\xff\x01\xff\xff\x01\xff\x0a\x01\xff\x00\x00"
      "\xff\x01\xff\xff\x01\xff\xff\x01\xff\x01\xff\xff\x01\xff\xff\x01"
      "\x01\xff\xff\x20\x20\x0a\xff\x01\xff\x27\x6f\x72\x74\x72\x61\x6e"
      "\x01\xff\xff\xff\x01\xff\x27\x6f\x72\x74\x72\x61\x6e\x01\xff\xff",
      128);
  const fs::path file = scratch("fuzz_newline_descr.npy");
  std::ofstream(file, std::ios::binary) << bytes;
  expect_error_containing([&] { load_npy(file); }, file.string() + ": unsupported dtype '|i");
}

}  // namespace
}  // namespace greedyhash
