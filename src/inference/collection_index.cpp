#include "greedyhash/inference/collection_index.h"

#include <algorithm>
#include <stdexcept>

#include <torch/torch.h>

#include "greedyhash/data/feature_set.h"
#include "greedyhash/data/image_decoding.h"
#include "greedyhash/data/image_folder.h"
#include "greedyhash/data/list_file.h"
#include "greedyhash/error.h"

namespace greedyhash {

namespace fs = std::filesystem;

namespace {

// The classes of each row of an N x C multi-hot tensor.
std::vector<std::vector<int64_t>> class_lists(const at::Tensor& multi_hot) {
  const at::Tensor labels = multi_hot.to(torch::kCPU, torch::kUInt8).contiguous();
  const auto rows = labels.accessor<uint8_t, 2>();
  std::vector<std::vector<int64_t>> out(static_cast<size_t>(labels.size(0)));
  for (int64_t i = 0; i < labels.size(0); ++i) {
    for (int64_t c = 0; c < labels.size(1); ++c) {
      if (rows[i][c] != 0) out[static_cast<size_t>(i)].push_back(c);
    }
  }
  return out;
}

EncodedCollection encode_files(GreedyHash& model, const std::vector<fs::path>& files,
                               const OutsideImageOptions& outside, EncodeOptions options) {
  options.transform = outside.transform;
  EncodedCollection out;
  out.codes =
      BinaryCodes::from_tensor(encode_image_files(model, files, outside.load, options).codes);
  for (const auto& file : files) out.manifest.items.push_back(file.string());
  return out;
}

// The last named component of a path, also when it ends with a separator.
std::string last_name(const fs::path& path) {
  const fs::path normal = path.lexically_normal();
  return normal.has_filename() ? normal.filename().string()
                               : normal.parent_path().filename().string();
}

}  // namespace

EncodedCollection encode_run_database(GreedyHash& model, const RunData& data,
                                      const EncodeOptions& options) {
  const std::vector<int64_t>& database = data.split.database;
  const EncodedImages encoded = encode_images(model, data.dataset, database, options);
  EncodedCollection out;
  out.codes = BinaryCodes::from_tensor(encoded.codes);
  IndexManifest& m = out.manifest;
  m.collection = "run_database";
  m.source = data.source;
  for (const int64_t index : database) {
    m.items.push_back(data.dataset.sources[static_cast<size_t>(index)]);
  }
  m.dataset_indices = database;
  m.class_names = data.dataset.class_names;
  m.labels = class_lists(encoded.labels);
  return out;
}

EncodedCollection encode_image_folder(GreedyHash& model, const fs::path& folder,
                                      const OutsideImageOptions& outside,
                                      const EncodeOptions& options) {
  const ImageFolderListing listing = list_image_collection(folder);
  EncodedCollection out = encode_files(model, listing.files, outside, options);
  out.manifest.collection = "images";
  out.manifest.source = folder.string();
  out.manifest.class_names = listing.class_names;
  for (const int64_t c : listing.class_ids) out.manifest.labels.push_back({c});
  return out;
}

EncodedCollection encode_list_file(GreedyHash& model, const fs::path& list_file,
                                   const OutsideImageOptions& outside,
                                   const EncodeOptions& options) {
  const std::vector<ListEntry> entries = parse_list_file(list_file);
  if (entries.empty()) throw Error("list file " + list_file.string() + " lists no images");
  std::vector<fs::path> files;
  for (const auto& entry : entries) files.push_back(list_file.parent_path() / entry.path);
  EncodedCollection out = encode_files(model, files, outside, options);
  IndexManifest& m = out.manifest;
  m.collection = "list";
  m.source = list_file.string();
  for (size_t c = 0; c < entries.front().label.size(); ++c) {
    m.class_names.push_back(std::to_string(c));
  }
  for (const auto& entry : entries) {
    std::vector<int64_t> classes;
    for (size_t c = 0; c < entry.label.size(); ++c) {
      if (entry.label[c] != 0) classes.push_back(static_cast<int64_t>(c));
    }
    m.labels.push_back(std::move(classes));
  }
  return out;
}

EncodedCollection encode_feature_file(FeatureHasher& model, const fs::path& file) {
  const at::Tensor features = load_feature_matrix(file);
  if (features.size(1) != model->input_dim()) {
    throw Error(file.string() + " has " + std::to_string(features.size(1)) +
                " columns but the run's hash layer takes " + std::to_string(model->input_dim()) +
                "; index features of the embedding model the run was trained on");
  }
  EncodedCollection out;
  {
    torch::NoGradGuard no_grad;
    out.codes = BinaryCodes::from_tensor(model->forward(features).h);
  }
  IndexManifest& m = out.manifest;
  m.collection = "features";
  m.source = file.string();
  for (int64_t row = 0; row < features.size(0); ++row) {
    m.items.push_back(file.filename().string() + "#" + std::to_string(row));
  }
  const fs::path labels_file = file.parent_path() / (file.stem().string() + "_labels.npy");
  if (fs::exists(labels_file)) {
    const at::Tensor labels = load_label_matrix(labels_file, features.size(0));
    for (int64_t c = 0; c < labels.size(1); ++c) m.class_names.push_back(std::to_string(c));
    m.labels = class_lists(labels);
  }
  return out;
}

void describe_model(IndexManifest& manifest, const TrainedModel& trained,
                    const std::string& checkpoint_sha256, const fs::path& run_dir) {
  manifest.bits = static_cast<int>(trained.meta.bits);
  manifest.checkpoint = fs::absolute(trained.checkpoint).lexically_normal().string();
  manifest.checkpoint_sha256 = checkpoint_sha256;
  manifest.checkpoint_epoch = trained.meta.epoch;
  manifest.run_dir = fs::absolute(run_dir).lexically_normal().string();
}

fs::path default_index_file(const fs::path& run_dir, const IndexManifest& manifest) {
  if (manifest.collection == "run_database") return run_dir / "database.faiss";
  const fs::path source(manifest.source);
  const std::string name = manifest.collection == "list" || manifest.collection == "features"
                               ? source.stem().string()
                               : last_name(fs::absolute(source));
  return run_dir / (name + ".faiss");
}

std::optional<IndexFiles> usable_run_index(const fs::path& run_dir, int bits,
                                           const std::string& checkpoint_sha256,
                                           const std::vector<int64_t>& database, std::string& why) {
  why.clear();
  const fs::path file = run_dir / "database.faiss";
  if (!fs::exists(file)) return std::nullopt;
  try {
    IndexFiles files = read_index_files(file);
    if (files.manifest.collection != "run_database" || files.manifest.dataset_indices != database) {
      why = file.string() + " does not index this run's database (" + files.manifest.collection +
            " " + files.manifest.source + ")";
      return std::nullopt;
    }
    check_index_matches_model(files.manifest, file, bits, checkpoint_sha256);
    return files;
  } catch (const Error& e) {
    why = e.what();
    return std::nullopt;
  }
}

std::vector<std::string> query_class_names(const at::Tensor& label, int64_t predicted,
                                           const std::vector<std::string>& class_names) {
  const auto name = [&](int64_t c) { return class_name_or_id(class_names, c); };
  if (!label.defined()) return {name(predicted)};
  const auto classes = class_lists(label.reshape({1, -1}));
  std::vector<std::string> names;
  for (const int64_t c : classes[0]) names.push_back(name(c));
  return names;
}

const std::string& index_item(const IndexManifest& manifest, int64_t id) {
  if (id >= static_cast<int64_t>(manifest.items.size())) {
    throw Error("the index returned item " + std::to_string(id) + " but its sidecar lists " +
                std::to_string(manifest.items.size()) + "; rebuild it with greedyhash_index");
  }
  return manifest.items[static_cast<size_t>(id)];
}

std::vector<RetrievalHit> index_hits(const IndexManifest& manifest, const SearchHits& hits,
                                     int64_t query, const RunData* run_data,
                                     const OutsideImageOptions& outside,
                                     const std::vector<std::string>& query_classes) {
  std::vector<RetrievalHit> out;
  for (int64_t j = 0; j < hits.k; ++j) {
    const auto cell = static_cast<size_t>(query * hits.k + j);
    const int64_t id = hits.ids[cell];
    if (id < 0) break;
    RetrievalHit hit;
    hit.distance = hits.distances[cell];
    hit.item = index_item(manifest, id);
    if (manifest.has_labels() && !query_classes.empty()) {
      const auto& classes = manifest.labels[static_cast<size_t>(id)];
      hit.relevant = std::any_of(classes.begin(), classes.end(), [&](int64_t c) {
        return std::find(query_classes.begin(), query_classes.end(),
                         manifest.class_names[static_cast<size_t>(c)]) != query_classes.end();
      });
    }
    if (manifest.collection == "run_database") {
      if (run_data == nullptr)
        throw std::logic_error("index_hits: the run's data is needed for its images");
      const int64_t index = manifest.dataset_indices[static_cast<size_t>(id)];
      if (index >= run_data->dataset.size()) {
        throw Error("the index lists image " + std::to_string(index) + " of " + manifest.source +
                    " but the data set read has " + std::to_string(run_data->dataset.size()) +
                    "; pass the run's --data-dir");
      }
      hit.image = run_data->dataset.image(index);
    }
    out.push_back(std::move(hit));
  }
  if (manifest.collection != "run_database" && !out.empty()) {
    std::vector<fs::path> files;
    for (const auto& hit : out) files.emplace_back(hit.item);
    const at::Tensor images = decode_image_files(files, outside.load);
    for (size_t j = 0; j < out.size(); ++j) out[j].image = images[static_cast<int64_t>(j)];
  }
  return out;
}

}  // namespace greedyhash
