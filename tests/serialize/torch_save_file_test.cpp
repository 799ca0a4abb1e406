#include "greedyhash/serialize/torch_save_file.h"

#include <caffe2/serialize/inline_container.h>
#include <gtest/gtest.h>

#include <torch/torch.h>
#include "test_support.h"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "greedyhash/error.h"
#include "greedyhash/serialize/state_dict.h"

namespace greedyhash {
namespace {

namespace fs = std::filesystem;

const fs::path kFixtures = fs::path(GREEDYHASH_TEST_DATA_DIR) / "model";

void write_all(const fs::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

// The same state dict saved by Python in the zip format and in the legacy one.
class ReadFixture : public ::testing::TestWithParam<const char*> {
 protected:
  fs::path fixture() const { return kFixtures / GetParam(); }
};
INSTANTIATE_TEST_SUITE_P(ZipAndLegacy, ReadFixture,
                         ::testing::Values("tiny_state_dict.pt", "tiny_state_dict_legacy.pt"));

TEST_P(ReadFixture, ReadsThePythonFixtureInFileOrder) {
  // tests/data/model/make_fixture.py wrote these values with Python's torch.save.
  const auto sd = read_state_dict(fixture());
  EXPECT_EQ(sd.keys(), (std::vector<std::string>{"conv.weight", "conv.bias", "fc.weight_t",
                                                 "fc.row", "steps", "mask"}));
  EXPECT_TRUE(torch::equal(sd["conv.weight"],
                           torch::arange(24, torch::kFloat32).reshape({2, 3, 2, 2}) / 8));
  EXPECT_TRUE(torch::equal(sd["conv.bias"], torch::tensor({-1.5f, 2.25f})));
  const auto base = torch::arange(12, torch::kFloat64).reshape({3, 4});
  EXPECT_TRUE(torch::equal(sd["fc.weight_t"], base.t()));
  EXPECT_TRUE(torch::equal(sd["fc.row"], base[1]));
  EXPECT_EQ(sd["steps"].dim(), 0);
  EXPECT_EQ(sd["steps"].scalar_type(), torch::kLong);
  EXPECT_EQ(sd["steps"].item<int64_t>(), 7);
  EXPECT_TRUE(torch::equal(sd["mask"], torch::tensor({true, false, true})));
}

TEST_P(ReadFixture, KeepsStridesAndSharedStorage) {
  const auto sd = read_state_dict(fixture());
  // base.t() of a 3 x 4 tensor has strides (1, 4); base[1] starts 4 elements in.
  EXPECT_EQ(sd["fc.weight_t"].strides(), (std::vector<int64_t>{1, 4}));
  EXPECT_EQ(sd["fc.row"].storage_offset(), 4);
  EXPECT_EQ(sd["fc.row"].data_ptr<double>(), sd["fc.weight_t"].data_ptr<double>() + 4);
}

TEST_P(ReadFixture, ShapesOnlyGivesMetaTensors) {
  const auto sd = read_state_dict(fixture(), TensorData::kShapesOnly);
  EXPECT_TRUE(sd["conv.weight"].is_meta());
  EXPECT_EQ(sd["conv.weight"].sizes(), (std::vector<int64_t>{2, 3, 2, 2}));
  EXPECT_EQ(sd["fc.weight_t"].scalar_type(), torch::kFloat64);
  EXPECT_EQ(sd["mask"].scalar_type(), torch::kBool);
}

TEST(ReadTorchSaveDict, BadFilesGiveOneLineErrorsNamingTheFile) {
  const auto folder = fresh_test_folder("torch_save_bad");
  const auto missing = folder / "missing.pt";
  EXPECT_NE(error_of([&] { read_state_dict(missing); }).find(missing.string() + ": no such file"),
            std::string::npos);

  const auto text = folder / "notes.txt";
  write_all(text, "hello, not a zip");
  EXPECT_EQ(
      error_of([&] { read_state_dict(text); }),
      text.string() + ": not a torch.save file (neither a zip archive nor the legacy format)");

  // Starts like the legacy format (a pickled long) but is not one.
  const auto pickle = folder / "other.pkl";
  write_all(pickle, std::string("\x80\x02\x8a\x0a", 4) + "rest");
  EXPECT_EQ(
      error_of([&] { read_state_dict(pickle); }),
      pickle.string() + ": not a torch.save file (neither a zip archive nor the legacy format)");

  const auto legacy = kFixtures / "tiny_state_dict_legacy.pt";
  const std::string legacy_bytes = read_file_bytes(legacy);
  const auto legacy_truncated = folder / "legacy_truncated.pt";
  write_all(legacy_truncated, legacy_bytes.substr(0, legacy_bytes.size() - 10));
  EXPECT_EQ(error_of([&] { read_state_dict(legacy_truncated); }),
            legacy_truncated.string() + ": truncated storage data");

  const auto truncated = folder / "truncated.pt";
  const std::string whole = read_file_bytes(kFixtures / "tiny_state_dict.pt");
  write_all(truncated, whole.substr(0, whole.size() / 2));
  EXPECT_NE(error_of([&] { read_state_dict(truncated); }).find(truncated.string() + ": "),
            std::string::npos);

  const auto list = kFixtures / "tiny_list.pt";
  EXPECT_NE(error_of([&] {
              read_state_dict(list);
            }).find(list.string() + ": holds a list, expected a dict"),
            std::string::npos);
}

// The fixture's archive with data.pkl replaced by `pickle` (the zip's checksums would
// catch damage inside the original).
void write_with_pickle(const fs::path& file, const std::string& pickle) {
  caffe2::serialize::PyTorchStreamReader original(
      (fs::path(GREEDYHASH_TEST_DATA_DIR) / "model" / "tiny_state_dict.pt").string());
  caffe2::serialize::PyTorchStreamWriter writer(file.string());
  for (const auto& name : original.getAllRecords()) {
    if (name == "version" || name == ".data/version") continue;  // the writer adds it
    if (name == "data.pkl") {
      writer.writeRecord(name, pickle.data(), pickle.size());
    } else {
      auto [data, size] = original.getRecord(name);
      writer.writeRecord(name, data.get(), size);
    }
  }
  writer.writeEndOfFile();
}

TEST(ReadTorchSaveDict, DamagedPickleDataIsAnErrorNeverACrash) {
  const auto folder = fresh_test_folder("torch_save_damaged");
  caffe2::serialize::PyTorchStreamReader original((kFixtures / "tiny_state_dict.pt").string());
  auto [data, size] = original.getRecord("data.pkl");
  const std::string pickle(static_cast<const char*>(data.get()), size);
  const auto file = folder / "damaged.pt";
  // Every truncation must be reported; stepping by 7 keeps the test fast.
  for (size_t n = 0; n < pickle.size(); n += 7) {
    write_with_pickle(file, pickle.substr(0, n));
    EXPECT_THROW(read_torch_save_dict(file), Error) << "truncated to " << n;
  }
  // Flipped bytes either still parse or give greedyhash::Error; nothing else escapes.
  for (size_t i = 0; i < pickle.size(); i += 5) {
    std::string damaged = pickle;
    damaged[i] = static_cast<char>(damaged[i] ^ 0x5a);
    write_with_pickle(file, damaged);
    try {
      read_torch_save_dict(file);
    } catch (const Error&) {
    } catch (const std::exception& e) {
      ADD_FAILURE() << "byte " << i << ": " << e.what();
    }
  }
}

TEST(ReadTorchSaveDict, DamagedLegacyFileIsAnErrorNeverACrash) {
  // The legacy format has no checksums: damage anywhere reaches the reader.
  const auto file = fresh_test_folder("torch_save_damaged_legacy") / "damaged.pt";
  const std::string whole = read_file_bytes(kFixtures / "tiny_state_dict_legacy.pt");
  for (size_t n = 4; n < whole.size(); n += 7) {
    write_all(file, whole.substr(0, n));
    EXPECT_THROW(read_torch_save_dict(file), Error) << "truncated to " << n;
  }
  for (size_t i = 0; i < whole.size(); i += 3) {
    std::string damaged = whole;
    damaged[i] = static_cast<char>(damaged[i] ^ 0x5a);
    write_all(file, damaged);
    try {
      read_torch_save_dict(file);
    } catch (const Error&) {
    } catch (const std::exception& e) {
      ADD_FAILURE() << "byte " << i << ": " << e.what();
    }
  }
}

TEST(ReadTorchSaveDict, RejectsATorchScriptArchive) {
  const auto folder = fresh_test_folder("torch_save_script");
  torch::jit::Module module("__torch__.Tiny");
  module.register_parameter("w", torch::ones({2}), false);
  module.save((folder / "tiny_script.pt").string());
  EXPECT_NE(
      error_of([&] { read_state_dict(folder / "tiny_script.pt"); }).find("is a TorchScript module"),
      std::string::npos);
}

TEST(WriteTorchSaveDict, PythonTorchLoadSeesAPlainDictWithTheValues) {
  if (!python_has_modules("torch")) GTEST_SKIP() << "/usr/bin/python3 with torch not available";
  const auto folder = fresh_test_folder("torch_save_python");
  TorchSaveDict entries("Entry");
  // A transposed (non-contiguous) tensor must be stored with its logical values.
  entries.insert("w", torch::arange(6, torch::kFloat32).reshape({2, 3}).t());
  entries.insert("ids", torch::tensor({-3, 70000}, torch::kLong));
  entries.insert("flags", torch::tensor({true, false}));
  entries.insert("scalar", torch::tensor(2.5, torch::kFloat64));
  entries.insert("small", int64_t{200});
  entries.insert("medium", int64_t{40000});
  entries.insert("negative", int64_t{-5});
  entries.insert("huge", int64_t{1} << 40);
  entries.insert("ratio", 0.1);
  entries.insert("name", std::string("caf\xc3\xa9 {\"a\": 1}"));
  entries.insert("yes", true);
  entries.insert("nothing", c10::IValue());
  write_torch_save_dict(folder / "values.pt", entries);
  // PyTorch >= 2.6 loads with weights_only=True by default; 1.13's restricted unpickler
  // cannot read floats yet (pickle's BINFLOAT), so that mode is checked without one.
  entries.erase("ratio");
  write_torch_save_dict(folder / "no_float.pt", entries);

  const std::string script = R"PY(
import sys, torch
d = torch.load(sys.argv[1])
assert type(d) is dict, type(d)
safe = torch.load(sys.argv[2], weights_only=True)
assert list(safe) == [k for k in d if k != "ratio"], list(safe)
assert list(d) == ["w", "ids", "flags", "scalar", "small", "medium", "negative", "huge",
                   "ratio", "name", "yes", "nothing"], list(d)
assert torch.equal(d["w"], torch.tensor([[0., 3.], [1., 4.], [2., 5.]]))
assert d["ids"].dtype == torch.int64 and d["ids"].tolist() == [-3, 70000]
assert d["flags"].dtype == torch.bool and d["flags"].tolist() == [True, False]
assert d["scalar"].dim() == 0 and d["scalar"].dtype == torch.float64 and d["scalar"].item() == 2.5
assert [d[k] for k in ("small", "medium", "negative", "huge")] == [200, 40000, -5, 2 ** 40]
assert d["ratio"] == 0.1 and d["yes"] is True and d["nothing"] is None
assert d["name"] == 'caf\u00e9 {"a": 1}', d["name"]
print("ok")
)PY";
  std::string output;
  EXPECT_EQ(
      run_python(folder, script,
                 (folder / "values.pt").string() + " " + (folder / "no_float.pt").string(), output),
      0)
      << output;
}

TEST(WriteTorchSaveDict, ReadsBackWhatItWrote) {
  const auto folder = fresh_test_folder("torch_save_roundtrip");
  TorchSaveDict entries("Entry");
  entries.insert("a.weight", torch::randn({3, 4}));
  entries.insert("count", int64_t{-123456789012});
  entries.insert("map", 0.8125);
  entries.insert("config", std::string("{}"));
  write_torch_save_dict(folder / "dict.pt", entries);
  const auto back = read_torch_save_dict(folder / "dict.pt");
  ASSERT_EQ(back.keys(), entries.keys());
  EXPECT_TRUE(torch::equal(back["a.weight"].toTensor(), entries["a.weight"].toTensor()));
  EXPECT_EQ(back["count"].toInt(), -123456789012);
  EXPECT_EQ(back["map"].toDouble(), 0.8125);
  EXPECT_EQ(back["config"].toStringRef(), "{}");
}

}  // namespace
}  // namespace greedyhash
