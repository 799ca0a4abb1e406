// Files made by a hostile or careless hand: each must give a value or a one-line
// greedyhash::Error naming the file, in both containers, never a crash, a hang or an
// allocation larger than the file.

#include <gtest/gtest.h>

#include <torch/torch.h>
#include "test_support.h"
#include "torch_save_test_files.h"

#include <string>
#include <vector>

#include "greedyhash/error.h"
#include "greedyhash/serialize/torch_save_file.h"

namespace greedyhash {
namespace {

namespace fs = std::filesystem;
using namespace std::string_literals;  // pickles hold NUL bytes

const fs::path kFixtures = fs::path(GREEDYHASH_TEST_DATA_DIR) / "model";
const std::string kProto = "\x80\x02";

// Pickle pieces (protocol 2).
std::string str(const std::string& s) {
  return "X" + le_bytes(s.size(), 4) + s;
}
std::string long8(int64_t v) {
  return "\x8a\x08" + le_bytes(static_cast<uint64_t>(v), 8);
}
std::string int_tuple(const std::vector<int64_t>& values) {
  std::string out = "(";
  for (const int64_t v : values) out += long8(v);
  return out + "t";
}
// ('storage', torch.<type>, key, 'cpu', numel) as a persistent id, loaded.
std::string storage(const std::string& type, const std::string& key, int64_t numel) {
  return "(" + str("storage") + "ctorch\n" + type + "\n" + str(key) + str("cpu") + long8(numel) +
         "tQ";
}
std::string tensor(const std::string& storage_pickle, const std::vector<int64_t>& sizes,
                   const std::vector<int64_t>& strides) {
  return "ctorch._utils\n_rebuild_tensor_v2\n(" + storage_pickle + "K\x00"s + int_tuple(sizes) +
         int_tuple(strides) + "\x89" + "ccollections\nOrderedDict\n)RtR";
}
// {key: <value pickle>}
std::string dict_of(const std::string& key, const std::string& value) {
  return kProto + "}" + str(key) + value + "s.";
}

enum class Container { kZip, kLegacy };

class Hostile : public ::testing::TestWithParam<Container> {
 protected:
  // A torch.save file in the container under test whose object is `pickle`.
  fs::path file_with(const std::string& pickle, const std::string& name = "hostile.pt") {
    const fs::path file = fresh_test_folder("hostile_torch_save") / name;
    if (GetParam() == Container::kZip) {
      write_zip_torch_save(file, pickle);
    } else {
      write_bytes(file, legacy_torch_save(pickle));
    }
    return file;
  }
  // read_torch_save_dict(file) must fail with a one-line message naming the file and
  // containing `part`.
  void expect_rejected(const std::string& pickle, const std::string& part) {
    const fs::path file = file_with(pickle);
    expect_error([&] { read_torch_save_dict(file); }, {file.string() + ": ", part});
  }
};
INSTANTIATE_TEST_SUITE_P(ZipAndLegacy, Hostile,
                         ::testing::Values(Container::kZip, Container::kLegacy),
                         [](const ::testing::TestParamInfo<Container>& param) {
                           return param.param == Container::kZip ? "Zip" : "Legacy";
                         });

TEST_P(Hostile, ADictContainingItselfIsAnError) {
  // d = {}; d["self"] = d: the memo hands the dict back as its own value.
  expect_rejected(kProto + "}q\x00"s + str("self") + "h\x00s."s, "dict that contains itself");
  // d["a"] = l, l.append(l).
  expect_rejected(dict_of("a", "]q\x00h\x00"s + "a"), "list that contains itself");
}

TEST(HostilePythonFile, ADictContainingItselfSavedByPythonIsAnError) {
  // tests/data/serialize/make_hostile.py: d = {}; d["self"] = d; torch.save(d, ...). The
  // 163-byte legacy file killed the process with SIGSEGV (unbounded recursion).
  for (const char* name : {"self_containing.pt", "self_containing_legacy.pt"}) {
    const fs::path file = fs::path(GREEDYHASH_TEST_DATA_DIR) / "serialize" / name;
    for (const auto mode : {TensorData::kLoad, TensorData::kShapesOnly}) {
      EXPECT_EQ(error_of([&] { read_torch_save_dict(file, mode); }),
                file.string() +
                    ": holds a dict that contains itself; only plain data (a state dict) can be "
                    "read");
    }
  }
}

TEST(HostilePythonFile, FuzzFindingANoneDictKeyIsAnError) {
  // fuzz_torch_save found this legacy file (minimised): an optimizer state dict whose
  // nested dict has the key None. LibTorch's dict hash throws for None inside a noexcept
  // function, so the process ended (docs/FUZZING.md, finding 2).
  const fs::path file = fs::path(GREEDYHASH_TEST_DATA_DIR) / "serialize" / "fuzz_none_dict_key.pt";
  expect_error([&] { read_torch_save_dict(file); },
               {file.string() + ": unsupported dict key of type None"});
}

std::string nested_lists(int depth) {
  return dict_of("a", std::string(depth, ']') + std::string(depth - 1, 'a'));
}
std::string nested_tuples(int depth) {
  return dict_of("a", ")" + std::string(depth - 1, '\x85'));  // EMPTY_TUPLE, TUPLE1...
}
std::string nested_dicts(int depth) {
  std::string levels;
  for (int i = 0; i < depth; ++i) levels += str("k") + "}";
  return kProto + "}" + levels + std::string(depth, 's') + ".";
}

TEST_P(Hostile, DeepNestingIsAnErrorBeyondTheBound) {
  // 100,000 levels overflowed the stack of the recursive conversion and destructor.
  for (const auto& pickle : {nested_lists(100000), nested_tuples(100000), nested_dicts(100000)}) {
    expect_rejected(pickle, "more than 1000 deep");
  }
  // The bound itself is read (Python's pickler writes up to about that depth).
  const auto value = read_torch_save_dict(file_with(nested_lists(1000)))["a"];
  c10::IValue inner = value;
  int depth = 1;
  while (!inner.toListRef().empty()) {
    inner = inner.toListRef()[0];
    ++depth;
  }
  EXPECT_EQ(depth, 1000);
  expect_rejected(nested_lists(1001), "more than 1000 deep");
  expect_rejected(nested_tuples(1001), "more than 1000 deep");
}

TEST_P(Hostile, SharedValuesAreConvertedOnce) {
  // l0 = []; l_i = [l_{i-1}, l_{i-1}]: 2^60 paths to l0 through 61 lists. Converting each
  // path separately never ends; Python (and this reader) shares them.
  std::string pickle = kProto + "}" + str("a") + "]q\x00"s + "0";
  const int levels = 60;
  for (int i = 1; i <= levels; ++i) {
    const std::string previous = "h" + std::string(1, static_cast<char>(i - 1));
    pickle += "(" + previous + previous + "lq" + std::string(1, static_cast<char>(i)) + "0";
  }
  pickle += "h" + std::string(1, static_cast<char>(levels)) + "s.";
  const auto top = read_torch_save_dict(file_with(pickle))["a"];
  c10::IValue list = top;
  for (int i = 0; i < levels; ++i) {
    ASSERT_EQ(list.toListRef().size(), 2u);
    EXPECT_TRUE(list.toListRef()[0].isSameIdentity(list.toListRef()[1])) << "level " << i;
    list = list.toListRef()[0];
  }
  EXPECT_TRUE(list.toListRef().empty());
}

// One string as the key of `dicts` dicts, {"a": [{key: None}, {key: None}, ...]}: each
// use costs the file 5 bytes.
std::string dicts_sharing_a_key(const std::string& key, int dicts) {
  std::string pickle = kProto + "}" + str("a") + "]" + str(key) + "q\x00"s + "0(";
  for (int i = 0; i < dicts; ++i) pickle += "}h\x00Ns"s;
  return pickle + "es.";
}

TEST_P(Hostile, ARepeatedStringIsNotCopiedPerUse) {
  const std::string longest_key(1024, 'k');  // the longest a key may be
  const c10::IValue list =
      read_torch_save_dict(file_with(dicts_sharing_a_key(longest_key, 2000)))["a"];
  const auto dicts = list.toListRef();
  ASSERT_EQ(dicts.size(), 2000u);
  const auto key = [](const c10::IValue& dict) {
    return dict.toGenericDict().begin()->key().toStringRef().data();
  };
  EXPECT_EQ(key(dicts.front()), key(dicts.back()));  // one buffer, not 2000 copies
  // A class name may not be built from it: 5 bytes of STACK_GLOBAL would name 200 KB.
  expect_rejected(kProto + str(std::string(300, 'm')) + "q\x00h\x00h\x00\x93."s, "a class name");
}

TEST_P(Hostile, AKeyLongerThan1024BytesIsAnError) {
  // Found by review (docs/FUZZING.md, finding 5): every use of a key hashes it, so files
  // of 131, 261 and 522 KB, each using one key of half its size as the key of many dicts,
  // took 2.0, 6.4 and 23 s in fuzz_torch_save (ASan): the square of the file's size. With
  // keys of at most 1024 bytes the time grows linearly with the file.
  expect_rejected(dicts_sharing_a_key(std::string(1025, 'k'), 1),
                  "a dict key of 1025 bytes; state dict keys are names of at most 1024");
  expect_rejected(dict_of(std::string(1025, 'k'), "N"), "a dict key of 1025 bytes");
}

TEST_P(Hostile, AStorageKeyLongerThan256BytesIsAnError) {
  // Found by review (docs/FUZZING.md, finding 6): each load of a storage copies and hashes
  // its key, and the memo lets 3 bytes load one again; files of 120 and 240 KB loading a
  // 30 or 60 KB key 10,000 or 20,000 times took 1.2 and 4.2 s in fuzz_torch_save (ASan).
  // torch.save's keys are decimal numbers.
  expect_rejected(dict_of("a", storage("FloatStorage", std::string(257, '7'), 0)),
                  "unsupported storage key of 257 bytes");
}

TEST_P(Hostile, MisusedStackAndMemoAreErrors) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"h\x05.", "unknown memo entry"},
      {"q\x00."s, "stack underflow"},         // memoize with nothing on the stack
      {"N(q\x00."s, "stack underflow"},       // ... or nothing above the mark
      {"0.", "stack underflow"},              // POP
      {"N(2.", "stack underflow"},            // DUP of what lies below the mark
      {"}(NNs.", "stack underflow"},          // SETITEM reaching below the mark
      {"1.", "no mark"},                      // POP_MARK
      {".", "stack underflow"},               // STOP with nothing
      {"NN.", "values left on the stack"},    //
      {"(N.", "values left on the stack"},    // STOP inside a mark
      {"NNa.", "append target is a None"},    //
      {"NNNs.", "item set on a non-dict"},    //
      {"}(Nu.", "odd number of dict items"},  //
      {"NNR.", "call of a non-class"},        //
      {"NNb.", "attributes set on a None"},   //
      {"}]Ns.", "unsupported dict key of type list"},
      {"}" + str("a") + "}NNss.", "unsupported dict key of type None"},
      {"NQ.", "unsupported persistent id"},  //
      {"\xff", "unsupported pickle opcode 0xff"},
  };
  for (const auto& [ops, message] : cases) {
    SCOPED_TRACE(ops);
    expect_rejected(kProto + ops, message);
  }
}

TEST_P(Hostile, HugeLengthClaimsAndTruncationsAreErrors) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"X\xff\xff\xff\xff", "truncated pickle data"},                      // 4 GiB string
      {"\x8d" + le_bytes(uint64_t{1} << 62, 8), "truncated pickle data"},  // BINUNICODE8
      {"\x8b\xff\xff\xff\xff", "does not fit in 64 bits"},                 // LONG4 of 4 GiB
      {"ctorch\nFloat", "truncated pickle data"},                          // GLOBAL, no newline
      {"}" + str("a"), "pickle data"},  // no STOP (a legacy file runs on into the next pickle)
      {"}" + str("a") + storage("FloatStorage", "0", -1) + "s.", "bad storage size"},
      {"}" + str("a") + storage("FloatStorage", "0", int64_t{1} << 60) + "s.", "bad storage size"},
  };
  for (const auto& [ops, message] : cases) {
    SCOPED_TRACE(ops);
    expect_rejected(kProto + ops, message);
  }
}

TEST_P(Hostile, TensorsOutsideTheirStorageOrOfOverflowingSizeAreErrors) {
  const fs::path folder = fresh_test_folder("hostile_tensor");
  const auto with_storage = [&](const std::string& value_pickle) {
    const std::string pickle = dict_of("w", value_pickle);
    const fs::path file = folder / "tensor.pt";
    const std::string four_floats(16, '\0');
    if (GetParam() == Container::kZip) {
      write_zip_torch_save(file, pickle, {{"data/0", four_floats}});
    } else {
      write_bytes(file, legacy_torch_save(
                            pickle, kProto + "]" + str("0") + "a." + le_bytes(4, 8) + four_floats));
    }
    return file;
  };
  const std::string floats = storage("FloatStorage", "0", 4);
  // The storage is read correctly when the tensor fits.
  EXPECT_EQ(
      read_torch_save_dict(with_storage(tensor(floats, {2, 2}, {2, 1})))["w"].toTensor().sizes(),
      (std::vector<int64_t>{2, 2}));
  for (const auto& [value, message] : std::vector<std::pair<std::string, std::string>>{
           {tensor(floats, {2, 3}, {3, 1}), "tensor exceeds its storage"},
           {tensor(floats, {int64_t{1} << 62, int64_t{1} << 62, 0}, {0, 0, 0}),
            "malformed tensor shape"},
           {tensor(floats, {int64_t{1} << 40, int64_t{1} << 40}, {0, 0}), "malformed tensor shape"},
       }) {
    const fs::path file = with_storage(value);
    expect_error([&] { read_torch_save_dict(file); }, {file.string() + ": ", message});
  }
}

TEST(HostileZip, StoragesLargerThanTheirRecordsAreErrorsEvenWithoutData) {
  const fs::path file = fresh_test_folder("hostile_zip_storage") / "big.pt";
  write_zip_torch_save(file, dict_of("a", storage("FloatStorage", "0", 1000000000)),
                       {{"data/0", std::string(8, '\0')}});
  for (const auto mode : {TensorData::kLoad, TensorData::kShapesOnly}) {
    expect_error([&] { read_torch_save_dict(file, mode); },
                 {file.string() + ": storage record data/0 holds 8 bytes, expected 4000000000"});
  }
}

TEST(HostileLegacy, StoragesTogetherLargerThanTheFileAreErrorsEvenWithoutData) {
  // Each storage alone would fit in the file; together they claim over 100 times its size.
  std::string entries;
  for (int i = 0; i < 300; ++i) {
    entries += str("s" + std::to_string(i)) + storage("ByteStorage", std::to_string(i), 10000);
  }
  const std::string bytes = legacy_torch_save(kProto + "}(" + entries + "u.");
  ASSERT_GT(bytes.size(), 10000u);
  ASSERT_LT(bytes.size() * 100, 300u * 10000u);
  const fs::path file = fresh_test_folder("hostile_legacy_storage") / "big.pt";
  write_bytes(file, bytes);
  for (const auto mode : {TensorData::kLoad, TensorData::kShapesOnly}) {
    expect_error([&] { read_torch_save_dict(file, mode); },
                 {file.string() + ": truncated storage data"});
  }
}

// The fixture's bytes with `patch` applied, read back.
class DamagedZip : public ::testing::Test {
 protected:
  void SetUp() override { zip_ = read_file_bytes(kFixtures / "tiny_state_dict.pt"); }
  void put(size_t at, uint64_t value, int width) {
    zip_.replace(at, width, le_bytes(value, width));
  }
  void expect_rejected(const std::string& part) {
    const fs::path file = fresh_test_folder("damaged_zip") / "damaged.pt";
    write_bytes(file, zip_);
    expect_error([&] { read_torch_save_dict(file); }, {file.string() + ": ", part});
  }
  // The zip64 end record (miniz writes one into every archive).
  size_t zip64_end() const { return zip_.rfind("PK\x06\x06"); }
  std::string zip_;
};

TEST_F(DamagedZip, ARecordClaimingMoreThanTheFileIsAnError) {
  const size_t entry = central_entry(zip_, "data/0");
  put(entry + 20, 0x7ffffff0, 4);  // compressed size
  put(entry + 24, 0x7ffffff0, 4);  // uncompressed size
  expect_rejected("a record claims more bytes than the file has");
}

TEST_F(DamagedZip, AZip64SizeWithoutItsExtraFieldIsAnError) {
  const size_t entry = central_entry(zip_, "data/0");
  put(entry + 20, 0xffffffff, 4);
  put(entry + 24, 0xffffffff, 4);
  expect_rejected("no zip64 extra field");
}

TEST_F(DamagedZip, ADirectoryOutsideTheFileIsAnError) {
  put(zip64_end() + 48, uint64_t{1} << 50, 8);
  expect_rejected("central directory outside the file");
}

TEST_F(DamagedZip, MoreRecordsThanTheDirectoryHoldsIsAnError) {
  put(zip64_end() + 24, uint64_t{1} << 40, 8);
  put(zip64_end() + 32, uint64_t{1} << 40, 8);
  expect_rejected("more records than the directory holds");
}

TEST_F(DamagedZip, OverlappingRecordsAreAnError) {
  // data/1 pointed at data/0's bytes: two storages for the price of one.
  const size_t zero = central_entry(zip_, "data/0");
  const size_t one = central_entry(zip_, "data/1");
  zip_.replace(one + 42, 4, zip_.substr(zero + 42, 4));
  zip_.replace(one + 16, 12, zip_.substr(zero + 16, 12));  // CRC and sizes
  expect_rejected("records overlap");
}

TEST_F(DamagedZip, CompressedRecordsAreAnError) {
  put(central_entry(zip_, "data/0") + 10, 8, 2);  // deflate
  expect_rejected("has a compressed record");
}

TEST_F(DamagedZip, DamagedDataFailsTheChecksum) {
  const size_t entry = central_entry(zip_, "data/0");
  const size_t local = le_value(zip_, entry + 42, 4);
  const size_t data = local + 30 + le_value(zip_, local + 26, 2) + le_value(zip_, local + 28, 2);
  zip_[data + 5] = static_cast<char>(zip_[data + 5] ^ 1);
  expect_rejected("record data/0 fails its CRC-32 check");
}

TEST_F(DamagedZip, EveryTruncationAndFlippedBytesAreAnErrorOrAValue) {
  const fs::path file = fresh_test_folder("damaged_zip_all") / "damaged.pt";
  const std::string whole = zip_;
  for (size_t n = 0; n < whole.size(); ++n) {
    write_bytes(file, whole.substr(0, n));
    EXPECT_THROW(read_torch_save_dict(file), Error) << "truncated to " << n;
  }
  // Every third byte keeps the test at a few seconds; the fuzz target does the rest.
  for (size_t i = 0; i < whole.size(); i += 3) {
    std::string damaged = whole;
    damaged[i] = static_cast<char>(damaged[i] ^ 0x5a);
    write_bytes(file, damaged);
    try {
      read_torch_save_dict(file);
    } catch (const Error&) {
    } catch (const std::exception& e) {
      ADD_FAILURE() << "byte " << i << ": " << e.what();
    }
  }
}

}  // namespace
}  // namespace greedyhash
