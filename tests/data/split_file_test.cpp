#include "greedyhash/data/split_file.h"

#include <gtest/gtest.h>

#include <torch/torch.h>
#include "test_support.h"

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "greedyhash/error.h"
#include "greedyhash/serialize/atomic_file.h"

namespace greedyhash {
namespace {

namespace fs = std::filesystem;

nlohmann::json reference() {
  std::ifstream in(std::string(GREEDYHASH_TEST_DATA_DIR) + "/fixtures/seeded_reference.json");
  return nlohmann::json::parse(in);
}

Split sample_split() {
  Split split;
  split.protocol = SplitProtocol::Cifar10;
  split.seed = 18446744073709551615ULL;  // the largest seed survives JSON
  split.query = {1, 2, 9, 30};
  split.train = {0, 3, 4, 5, 6, 7, 8};
  split.database = {10, 11, 12, 14, 15, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29};
  split.validation = {11, 20, 21, 22};
  return split;
}

TEST(DatasetFingerprint, MatchesTheReferenceAndDetectsChanges) {
  {
    SCOPED_TRACE("MatchesTheIndependentReference");
    const auto ref = reference();
    {
      ImageDataset tiny;
      tiny.images =
          (torch::arange(54, torch::kLong) * 7).remainder(256).to(torch::kUInt8).view({3, 3, 2, 3});
      tiny.labels = torch::tensor({1, 0, 0, 1, 1, 0}, torch::kUInt8).view({3, 2});
      const auto fp = fingerprint_dataset(tiny);
      EXPECT_EQ(fp.count, 3);
      EXPECT_EQ(fp.checksum, ref["fingerprint_tiny"].get<std::string>());
    }
    {
      const int64_t n = 400;
      const auto j = torch::arange(n * 3 * 32 * 32, torch::kLong);
      ImageDataset large;
      large.images =
          (j * 31 + j.div(2048, "floor")).remainder(256).to(torch::kUInt8).view({n, 3, 32, 32});
      large.labels = torch::eye(10, torch::kUInt8).repeat({n / 10, 1});
      EXPECT_EQ(fingerprint_dataset(large).checksum, ref["fingerprint_large"].get<std::string>());
    }
  }
  {
    SCOPED_TRACE("ChangesWithAnyPixelOrLabel");
    ImageDataset data;
    data.images = torch::randint(0, 256, {20, 3, 8, 8}, torch::kUInt8);
    data.labels = torch::eye(4, torch::kUInt8).repeat({5, 1});
    const auto base = fingerprint_dataset(data);
    ImageDataset copy{data.images.clone(), nullptr, data.labels.clone(), {}, {}, -1};
    EXPECT_EQ(fingerprint_dataset(copy), base);
    copy.images[19][2][7][7] = (copy.images[19][2][7][7].item<int>() + 1) % 256;
    EXPECT_NE(fingerprint_dataset(copy).checksum, base.checksum);
    ImageDataset relabelled{data.images, nullptr, data.labels.clone(), {}, {}, -1};
    relabelled.labels[0][0] = 0;
    relabelled.labels[0][1] = 1;
    EXPECT_NE(fingerprint_dataset(relabelled).checksum, base.checksum);
    // Same bytes, other shape: a different data set.
    ImageDataset reshaped{data.images.view({20, 3, 4, 16}), nullptr, data.labels, {}, {}, -1};
    EXPECT_NE(fingerprint_dataset(reshaped).checksum, base.checksum);
  }
}

TEST(SplitFile, RoundTripsAndChecksTheData) {
  {
    SCOPED_TRACE("RoundTripsWithRunLengthCoding");
    const auto path = fresh_test_folder("split_file_roundtrip") / "split.json";
    const auto split = sample_split();
    const DatasetFingerprint fp{31, "00000000deadbeef"};
    save_split(path, split, fp, "cifar10-jpg.tar.gz");

    const auto doc = nlohmann::json::parse(read_file_bytes(path));
    EXPECT_EQ(doc["format"], "greedyhash-split");
    EXPECT_EQ(doc["protocol"], "cifar10");
    // Runs of 3 or more become [first, last]; shorter ones stay single indices.
    EXPECT_EQ(doc["query"].dump(), "[1,2,9,30]");
    EXPECT_EQ(doc["train"].dump(), "[0,[3,8]]");
    EXPECT_EQ(doc["database"].dump(), "[[10,12],14,15,[17,29]]");
    EXPECT_EQ(doc["validation"].dump(), "[11,[20,22]]");
    EXPECT_EQ(doc["sizes"]["database"], 18);
    EXPECT_EQ(doc["version"], 2);

    const auto saved = load_split(path, fp);
    EXPECT_EQ(saved.split.protocol, SplitProtocol::Cifar10);
    EXPECT_EQ(saved.split.seed, split.seed);
    EXPECT_EQ(saved.split.query, split.query);
    EXPECT_EQ(saved.split.train, split.train);
    EXPECT_EQ(saved.split.database, split.database);
    EXPECT_EQ(saved.split.validation, split.validation);
    EXPECT_EQ(saved.fingerprint, fp);
    EXPECT_EQ(saved.source, "cifar10-jpg.tar.gz");

    // A version 1 file (before validation sets) loads with none.
    auto old = doc;
    old["version"] = 1;
    old.erase("validation");
    old["sizes"].erase("validation");
    const auto old_path = path.parent_path() / "version1.json";
    write_file_atomically(old_path, old.dump());
    const auto loaded = load_split(old_path, fp);
    EXPECT_EQ(loaded.split.database, split.database);
    EXPECT_TRUE(loaded.split.validation.empty());
  }
  {
    SCOPED_TRACE("LoadSplitForChecksTheData");
    const auto path = fresh_test_folder("split_file_check") / "split.json";
    ImageDataset data;
    data.images = torch::zeros({31, 3, 2, 2}, torch::kUInt8);
    data.labels = torch::zeros({31, 10}, torch::kUInt8);
    save_split(path, sample_split(), fingerprint_dataset(data), "test");
    EXPECT_EQ(load_split_for(path, data).train, sample_split().train);

    ImageDataset changed{data.images.clone(), nullptr, data.labels, {}, {}, -1};
    changed.images[0][0][0][0] = 1;
    expect_error([&] { load_split_for(path, changed); }, {path.string(), "checksum"});
    ImageDataset fewer{
        data.images.narrow(0, 0, 30), nullptr, data.labels.narrow(0, 0, 30), {}, {}, -1};
    expect_error([&] { load_split_for(path, fewer); }, {path.string(), "31 images", "30 images"});
  }
}

TEST(SplitFile, BadInputIsANamedError) {
  {
    SCOPED_TRACE("SaveRefusesASplitLargerThanTheData");
    const auto path = fresh_test_folder("split_file_larger") / "split.json";
    expect_error(
        [&] {
          save_split(path, sample_split(), {30, "x"}, "test");
        },
        {"query index 30", "30 images"});
    EXPECT_FALSE(fs::exists(path));
  }
  {
    SCOPED_TRACE("BadFilesAreNamedErrors");
    const auto folder = fresh_test_folder("split_file_bad");
    const DatasetFingerprint fp{31, "00000000deadbeef"};
    expect_error([&] { load_split(folder / "missing.json", fp); },
                 {"missing.json", "does not exist"});

    const auto write_and_load = [&](const std::string& name, const std::string& text,
                                    const std::vector<std::string>& parts) {
      write_file_atomically(folder / name, text);
      std::vector<std::string> all = parts;
      all.push_back((folder / name).string());
      expect_error([&] { load_split(folder / name, fp); }, all);
    };
    write_and_load("garbage.json", "{not json", {"not valid JSON"});
    write_and_load("other.json", "{\"format\": \"something-else\"}", {"greedyhash-split"});

    save_split(folder / "good.json", sample_split(), fp, "test");
    const auto good = nlohmann::json::parse(read_file_bytes(folder / "good.json"));
    auto doc = good;
    doc["query"] = nlohmann::json::array({1, 9, 2});
    write_and_load("unsorted.json", doc.dump(), {"\"query\"", "ascending"});
    doc = good;
    doc["train"] = nlohmann::json::array({0, nlohmann::json::array({3, 31})});
    write_and_load("outside.json", doc.dump(), {"index 31", "31 images"});
    doc = good;
    doc["train"] = nlohmann::json::array({1, 3});
    doc["sizes"]["train"] = 2;
    write_and_load("overlap.json", doc.dump(), {"image 1", "query and train"});
    doc = good;
    doc["validation"] = nlohmann::json::array({2, 11, 20, 21});
    write_and_load("validation.json", doc.dump(), {"image 2", "validation and query"});
    doc = good;
    doc["version"] = 3;
    write_and_load("version.json", doc.dump(), {"version", "1 or 2"});
    doc = good;
    doc["sizes"]["database"] = 17;
    write_and_load("sizes.json", doc.dump(), {"\"database\"", "18 indices"});
    doc = good;
    doc["protocol"] = "cifar100";
    write_and_load("protocol.json", doc.dump(), {"cifar100"});
    doc = good;
    doc.erase("seed");
    write_and_load("seed.json", doc.dump(), {"\"seed\""});
    // 200 bytes naming 10^11 images: the lists are not read for data of another size
    // (they used to be expanded first: 800 GB; docs/FUZZING.md, finding 4).
    doc = good;
    doc["dataset"]["count"] = int64_t{1} << 40;
    doc["database"] = nlohmann::json::array({nlohmann::json::array({0, int64_t{100000000000}})});
    doc["sizes"]["database"] = int64_t{100000000001};
    write_and_load("huge.json", doc.dump(), {"1099511627776 images", "31 images"});
  }
}
}  // namespace
   // namespace
}  // namespace greedyhash
