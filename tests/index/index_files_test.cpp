#include "greedyhash/index/index_files.h"

#include <gtest/gtest.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "index/index_test_support.h"
#include "test_support.h"

namespace greedyhash {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

IndexManifest sample_manifest(int64_t n, int bits) {
  IndexManifest m;
  m.bits = bits;
  m.checkpoint = "/runs/bit_12/best.pt";
  m.checkpoint_sha256 = std::string(64, 'a');
  m.checkpoint_epoch = 3;
  m.run_dir = "/runs/bit_12";
  m.collection = "run_database";
  m.source = "/data/cifar";
  for (int64_t i = 0; i < n; ++i) {
    m.items.push_back("img/" + std::to_string(i) + ".png");
    m.dataset_indices.push_back(i * 2);
    m.labels.push_back({i % 3});
  }
  m.class_names = {"cat", "dog", "ship"};
  return m;
}

// The hex SHA-256 of a file as coreutils' sha256sum computes it.
std::string sha256sum(const fs::path& file) {
  const fs::path out = file.string() + ".sum";
  EXPECT_EQ(std::system(("sha256sum '" + file.string() + "' > '" + out.string() + "'").c_str()), 0);
  return read_file_bytes(out).substr(0, 64);
}

void write_json(const fs::path& file, const json& j) {
  std::ofstream(file) << j.dump();
}

json read_json(const fs::path& file) {
  return json::parse(read_file_bytes(file));
}

TEST(IndexManifest, JsonRoundTripAndPaddingNote) {
  const IndexManifest m = sample_manifest(4, 12);
  const json j = manifest_json(m);
  EXPECT_EQ(j["bits"], 12);
  EXPECT_EQ(j["index_bits"], 16);
  EXPECT_NE(j["padding"].get<std::string>().find("4 zero bits"), std::string::npos) << j["padding"];
  EXPECT_EQ(j["size"], 4);
  EXPECT_FALSE(j.contains("nlist"));
  const IndexManifest back = parse_manifest(j, "x.json");
  EXPECT_EQ(back.bits, 12);
  EXPECT_EQ(back.items, m.items);
  EXPECT_EQ(back.dataset_indices, m.dataset_indices);
  EXPECT_EQ(back.labels, m.labels);
  EXPECT_EQ(back.class_names, m.class_names);
  EXPECT_EQ(back.checkpoint_sha256, m.checkpoint_sha256);
  EXPECT_EQ(back.checkpoint_epoch, 3);
  EXPECT_EQ(back.collection, "run_database");

  EXPECT_EQ(manifest_json(sample_manifest(1, 48))["padding"].get<std::string>().rfind("none", 0),
            0u);

  IndexManifest unlabelled = sample_manifest(2, 48);
  unlabelled.class_names.clear();
  unlabelled.labels.clear();
  unlabelled.dataset_indices.clear();
  const json k = manifest_json(unlabelled);
  EXPECT_FALSE(k.contains("labels"));
  EXPECT_FALSE(parse_manifest(k, "y.json").has_labels());
}

TEST(IndexManifest, MalformedSidecarsAreNamedErrors) {
  json j = manifest_json(sample_manifest(2, 12));
  j.erase("checkpoint_sha256");
  expect_error([&] { parse_manifest(j, "s.json"); }, {"s.json", "checkpoint_sha256"});
  j = manifest_json(sample_manifest(2, 12));
  j["labels"] = json::array({json::array({0}), json::array({7})});
  expect_error([&] { parse_manifest(j, "s.json"); }, {"s.json", "label 7"});
  j = manifest_json(sample_manifest(2, 12));
  j["items"] = json::array({"only one"});
  expect_error([&] { parse_manifest(j, "s.json"); }, {"s.json", "different numbers"});
  j = manifest_json(sample_manifest(2, 12));
  j["bits"] = "twelve";
  expect_error([&] { parse_manifest(j, "s.json"); }, {"s.json", "'bits'", "wrong type"});
  expect_error(
      [] {
        parse_manifest(json{{"a", 1}}, "s.json");
      },
      {"not a greedyhash index sidecar"});
}

TEST(IndexFiles, WrittenAtomicallyAndReadBack) {
  GREEDYHASH_REQUIRE_FAISS();
  const auto folder = fresh_test_folder("index_files");
  const fs::path file = folder / "database.faiss";
  const auto codes = random_codes(100, 12, 4);
  write_index_files(file, BinaryIndex::build(codes, {IndexType::Ivf, 2, 2}),
                    sample_manifest(100, 12));
  EXPECT_TRUE(fs::exists(file));
  EXPECT_EQ(manifest_path(file), folder / "database.faiss.json");
  // Nothing else, such as a temporary file, is left behind.
  EXPECT_EQ(std::distance(fs::directory_iterator(folder), fs::directory_iterator()), 2);

  const json sidecar = read_json(manifest_path(file));
  EXPECT_EQ(sidecar["index_sha256"], sha256sum(file));
  EXPECT_EQ(sidecar["index_type"], "ivf");
  EXPECT_EQ(sidecar["nlist"], 2);
  EXPECT_EQ(sidecar["nprobe"], 2);

  const IndexFiles back = read_index_files(file);
  EXPECT_EQ(back.index.size(), 100);
  EXPECT_EQ(back.index.padded_bits(), 16);
  EXPECT_EQ(back.manifest.items.size(), 100u);
  EXPECT_EQ(back.manifest.nprobe, 2);
  const auto queries = random_codes(3, 12, 5);
  EXPECT_EQ(back.index.search(queries, 5).distances,
            BinaryIndex::build(codes, {}).search(queries, 5).distances);
}

TEST(IndexFiles, MismatchedOrMissingFilesAreExplained) {
  GREEDYHASH_REQUIRE_FAISS();
  const auto folder = fresh_test_folder("index_files_bad");
  const fs::path file = folder / "x.faiss";
  const auto codes = random_codes(20, 48, 6);
  write_index_files(file, BinaryIndex::build(codes, {}), sample_manifest(20, 48));

  expect_error([&] { read_index_files(folder / "absent.faiss"); },
               {"absent.faiss", "greedyhash_index"});

  // The index replaced behind the sidecar's back (or a build cut short between the two).
  const std::string original = read_file_bytes(file);
  std::ofstream(file, std::ios::binary | std::ios::app) << "x";
  expect_error([&] { read_index_files(file); }, {"x.faiss", "SHA-256 differs", "greedyhash_index"});
  std::ofstream(file, std::ios::binary | std::ios::trunc) << original;
  EXPECT_NO_THROW(read_index_files(file));

  // A sidecar that lists other items than the index holds.
  json sidecar = read_json(manifest_path(file));
  const json good = sidecar;
  sidecar["items"].erase(0);
  sidecar["labels"].erase(0);
  sidecar["dataset_indices"].erase(0);
  write_json(manifest_path(file), sidecar);
  expect_error([&] { read_index_files(file); }, {"20 codes", "19 items"});
  sidecar = good;
  sidecar["bits"] = 24;
  write_json(manifest_path(file), sidecar);
  expect_error([&] { read_index_files(file); }, {"48 bits", "24 bits"});

  std::ofstream(manifest_path(file)) << "{ not json";
  expect_error([&] { read_index_files(file); }, {"x.faiss.json", "not valid JSON"});
  fs::remove(manifest_path(file));
  expect_error([&] { read_index_files(file); }, {"x.faiss.json", "greedyhash_index"});
}

TEST(IndexFiles, StaleIndexIsExplained) {
  const IndexManifest m = sample_manifest(3, 12);
  EXPECT_NO_THROW(check_index_matches_model(m, "i.faiss", 12, std::string(64, 'a')));
  expect_error([&] { check_index_matches_model(m, "i.faiss", 48, std::string(64, 'a')); },
               {"i.faiss", "12-bit", "48 bits", "--bit"});
  expect_error([&] { check_index_matches_model(m, "i.faiss", 12, std::string(64, 'b')); },
               {"i.faiss", "/runs/bit_12/best.pt", "aaaaaaaaaaaa", "bbbbbbbbbbbb", "stale",
                "greedyhash_index"});
}

}  // namespace
}  // namespace greedyhash
