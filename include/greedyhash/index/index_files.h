#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "greedyhash/index/binary_index.h"

namespace greedyhash {

// The sidecar of an index file X.faiss: X.faiss.json, which says what the index holds and
// where it came from. Written by write_index_files, checked by read_index_files.
struct IndexManifest {
  int bits = 0;  // the model's code length K (the index stores padded_bits(K))
  std::string index_type = "flat";
  int64_t nlist = 0;         // IVF only
  int64_t nprobe = 0;        // IVF only: the default a search uses
  std::string index_sha256;  // of the .faiss file: a pair that does not belong together is caught

  // The model that encoded the collection (and must encode the queries).
  std::string checkpoint;  // absolute path
  std::string checkpoint_sha256;
  int64_t checkpoint_epoch = 0;
  std::string run_dir;  // absolute path of the run folder (config.json, split.json)

  // What was indexed: "run_database" (the run split's database images), "images" (an image
  // folder) or "list" (a list file).
  std::string collection;
  std::string source;  // the data folder, image folder or list file
  // One entry per code, in index order: the image (a file path, or a CIFAR-10 binary
  // record such as data_batch_3.bin#417).
  std::vector<std::string> items;
  std::vector<int64_t> dataset_indices;  // run_database: the images' rows in the run's data set
  // Labels, when the collection has them (else both empty): item i has the classes
  // class_names[c] for every c in labels[i].
  std::vector<std::string> class_names;
  std::vector<std::vector<int64_t>> labels;

  bool has_labels() const { return !class_names.empty(); }
};

nlohmann::json manifest_json(const IndexManifest& manifest);
// greedyhash::Error naming `file` when a field is missing or of the wrong type.
IndexManifest parse_manifest(const nlohmann::json& json, const std::filesystem::path& file);

// X.faiss -> X.faiss.json
std::filesystem::path manifest_path(const std::filesystem::path& index_file);

// Writes the index (FAISS's format) and then its sidecar, each atomically (temporary file,
// then rename), after filling manifest.index_sha256, nlist and nprobe from the index. A
// crash between the two leaves a sidecar whose index_sha256 no longer matches, which
// read_index_files reports.
void write_index_files(const std::filesystem::path& index_file, const BinaryIndex& index,
                       IndexManifest manifest);

struct IndexFiles {
  BinaryIndex index;
  IndexManifest manifest;
};

// Reads X.faiss and X.faiss.json and checks that they belong together (the index's
// SHA-256, size and dimension match the sidecar). Anything missing, corrupt or mismatched
// is a one-line greedyhash::Error naming the file and suggesting greedyhash_index.
IndexFiles read_index_files(const std::filesystem::path& index_file);

// Throws a greedyhash::Error explaining why the index at `index_file` cannot serve a model
// of `bits` bits whose checkpoint has SHA-256 `checkpoint_sha256`: another bit length, or
// another (or since retrained) checkpoint.
void check_index_matches_model(const IndexManifest& manifest,
                               const std::filesystem::path& index_file, int bits,
                               const std::string& checkpoint_sha256);

}  // namespace greedyhash
