#pragma once

// Image collections encoded by a trained model into FAISS binary indexes, and what an
// index's hits show: the glue between the model and run data (train/) and index/.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "greedyhash/data/run_data.h"
#include "greedyhash/index/index_files.h"
#include "greedyhash/inference/encoder.h"
#include "greedyhash/inference/trained_model.h"
#include "greedyhash/model/feature_hasher.h"
#include "greedyhash/report/retrieval_results.h"
#include "greedyhash/retrieval/binary_codes.h"

namespace greedyhash {

// A collection encoded for an index: its codes and the sidecar fields that describe it
// (collection, source, items, dataset_indices, class_names, labels).
struct EncodedCollection {
  BinaryCodes codes;
  IndexManifest manifest;
};

// The run's database images (split.database), encoded as evaluation encodes them.
EncodedCollection encode_run_database(GreedyHash& model, const RunData& data,
                                      const EncodeOptions& options);

// Every image of a folder (list_image_collection: labelled by class folders when laid out
// as FOLDER/<class>/<image>).
EncodedCollection encode_image_folder(GreedyHash& model, const std::filesystem::path& folder,
                                      const OutsideImageOptions& outside,
                                      const EncodeOptions& options);

// The images of a list file (`path 0 1 0 ...` lines, parse_list_file; paths relative to the
// list file's folder), labelled; class names "0", "1", ... as list-file runs name them.
EncodedCollection encode_list_file(GreedyHash& model, const std::filesystem::path& list_file,
                                   const OutsideImageOptions& outside,
                                   const EncodeOptions& options);

// The rows of a feature matrix (.npy, as load_feature_matrix checks it) encoded by a feature
// hasher (a --features run): items "<file>#<row>"; labelled when <stem>_labels.npy lies
// beside it (database.npy: database_labels.npy), with class names "0", "1", ....
EncodedCollection encode_feature_file(FeatureHasher& model, const std::filesystem::path& file);

// The sidecar's fields about the model: bits, checkpoint (absolute path), its SHA-256 and
// epoch, and the run folder (absolute).
void describe_model(IndexManifest& manifest, const TrainedModel& trained,
                    const std::string& checkpoint_sha256, const std::filesystem::path& run_dir);

// Where greedyhash_index writes unless told: in the run folder, database.faiss for the
// run's database, else <folder name>.faiss or <list file / feature file stem>.faiss.
std::filesystem::path default_index_file(const std::filesystem::path& run_dir,
                                         const IndexManifest& manifest);

// <run_dir>/database.faiss, the run database's index, when it can stand in for encoding the
// database: intact, built from this very checkpoint (by content) for `database` (the run's
// split). Otherwise std::nullopt, with the reason in `why` ("" when there is no such file).
std::optional<IndexFiles> usable_run_index(const std::filesystem::path& run_dir, int bits,
                                           const std::string& checkpoint_sha256,
                                           const std::vector<int64_t>& database, std::string& why);

// The item at position `id` of `manifest`'s index (an id a search of it returned); a
// greedyhash::Error when the sidecar lists fewer items than the index holds.
const std::string& index_item(const IndexManifest& manifest, int64_t id);

// The class names of a query: its labels' for a test image, else the predicted class's.
std::vector<std::string> query_class_names(const at::Tensor& label, int64_t predicted,
                                           const std::vector<std::string>& class_names);

// Row `query` of `hits` as the tools show it: each item with its image (run_database items
// from `run_data`, which must then be given; others decoded from their files as `outside`
// says) and whether it shares a class name with `query_classes` (unknown when the index
// has no labels or query_classes is empty).
std::vector<RetrievalHit> index_hits(const IndexManifest& manifest, const SearchHits& hits,
                                     int64_t query, const RunData* run_data,
                                     const OutsideImageOptions& outside,
                                     const std::vector<std::string>& query_classes);

}  // namespace greedyhash
