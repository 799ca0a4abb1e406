#include "greedyhash/serve/model_search_engine.h"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iterator>

#include <torch/torch.h>

#include "greedyhash/data/image_decoding.h"
#include "greedyhash/error.h"
#include "greedyhash/inference/collection_index.h"
#include "greedyhash/report/image_encoding.h"
#include "greedyhash/retrieval/binary_codes.h"
#include "greedyhash/runtime/stopwatch.h"
#include "greedyhash/serve/image_header.h"

namespace greedyhash {

namespace fs = std::filesystem;

namespace {

struct DecodedQuery : SearchEngine::Query {
  at::Tensor image;  // 1 x 3 x S x S uint8
};

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  if (!in.good() && !in.eof()) throw Error("cannot read " + path.string());
  if (bytes.empty()) throw Error("cannot read " + path.string() + ": missing or empty");
  return bytes;
}

class ModelSearchEngine final : public SearchEngine {
 public:
  explicit ModelSearchEngine(ModelSearchParts parts) : parts_(std::move(parts)) {
    const IndexManifest& manifest = parts_.index.manifest;
    info_.bits = manifest.bits;
    info_.items = parts_.index.index.size();
    info_.checkpoint_sha256 = parts_.checkpoint_sha256;
    info_.index_sha256 = manifest.index_sha256;
    parts_.encode.transform = parts_.outside.transform;
    parts_.encode.progress_label = "";
    // bf16: the weights are cast once here instead of in every forward pass. Autocast
    // rounds each fp32 weight to the same bf16 value when it casts it, so the codes are
    // those of greedyhash_search --precision bf16; at one image per batch the casts of
    // AlexNet's 58 M weights cost more than the forward pass itself.
    if (parts_.encode.precision == "bf16") parts_.trained.model->to(torch::kBFloat16);
  }

  const Info& info() const override { return info_; }

  std::unique_ptr<Query> prepare(std::string_view image) const override {
    auto query = std::make_unique<DecodedQuery>();
    query->image = decode_image_bytes(image, parts_.outside.load, "(the uploaded image)");
    return query;
  }

  std::vector<Answer> search(const std::vector<const Query*>& queries,
                             const std::vector<int64_t>& ks) override {
    // The batcher's thread is not one of ATen's: OpenMP and MKL take their thread
    // settings per thread, so it takes them here, as ATen's own workers do.
    static thread_local const bool threads_initialised = (at::init_num_threads(), true);
    (void)threads_initialised;
    const auto encode_start = std::chrono::steady_clock::now();
    const BinaryCodes codes = encode(queries);
    const double encode_ms = seconds_since(encode_start) * 1e3;

    const auto search_start = std::chrono::steady_clock::now();
    const int64_t k = *std::max_element(ks.begin(), ks.end());
    const SearchHits hits = parts_.index.index.search(codes, k);
    const double search_ms = seconds_since(search_start) * 1e3;

    std::vector<Answer> answers(queries.size());
    for (size_t q = 0; q < queries.size(); ++q) {
      Answer& answer = answers[q];
      answer.code_hex = codes.hex(static_cast<int64_t>(q));
      answer.encode_ms = encode_ms;
      answer.search_ms = search_ms;
      for (int64_t j = 0; j < ks[q]; ++j) {
        const auto cell = static_cast<size_t>(static_cast<int64_t>(q) * hits.k + j);
        if (j >= hits.k || hits.ids[cell] < 0) break;
        answer.results.push_back(result(hits.ids[cell], hits.distances[cell]));
      }
    }
    return answers;
  }

  std::optional<Item> item(int64_t id) const override {
    const IndexManifest& manifest = parts_.index.manifest;
    if (id < 0 || id >= static_cast<int64_t>(manifest.items.size())) return std::nullopt;
    if (parts_.run_data) {
      const int64_t row = manifest.dataset_indices.at(static_cast<size_t>(id));
      return Item{"image/png", encode_png(parts_.run_data->dataset.image(row))};
    }
    std::string bytes = read_file(manifest.items[static_cast<size_t>(id)]);
    const std::string format = read_image_header(bytes).format;
    return Item{"image/" + format, std::move(bytes)};
  }

 private:
  // One forward pass over the batch; images of one size (outside images are cut square
  // to one size) are stacked, as encode_images batches a data set.
  BinaryCodes encode(const std::vector<const Query*>& queries) {
    std::vector<at::Tensor> images;
    for (const Query* query : queries)
      images.push_back(static_cast<const DecodedQuery*>(query)->image);
    ImageDataset batch;
    batch.images = torch::cat(images);
    batch.labels = torch::zeros({batch.images.size(0), 1}, torch::kUInt8);
    std::vector<int64_t> rows(images.size());
    for (size_t i = 0; i < rows.size(); ++i) rows[i] = static_cast<int64_t>(i);
    GreedyHash model = parts_.trained.model;
    const EncodedImages encoded = encode_images(model, batch, rows, parts_.encode);
    return BinaryCodes::from_tensor(encoded.codes);
  }

  Result result(int64_t id, int distance) const {
    const IndexManifest& manifest = parts_.index.manifest;
    Result result;
    result.id = id;
    result.distance = distance;
    result.path = index_item(manifest, id);
    if (manifest.has_labels()) {
      for (const int64_t c : manifest.labels[static_cast<size_t>(id)]) {
        if (!result.label.empty()) result.label += ",";
        result.label += manifest.class_names.at(static_cast<size_t>(c));
      }
    }
    return result;
  }

  ModelSearchParts parts_;
  Info info_;
};

}  // namespace

bool items_need_run_data(const IndexManifest& manifest) {
  if (manifest.collection != "run_database" || manifest.items.empty()) return false;
  std::error_code error;
  return !fs::is_regular_file(manifest.items.front(), error);
}

std::shared_ptr<SearchEngine> make_model_search_engine(ModelSearchParts parts) {
  return std::make_shared<ModelSearchEngine>(std::move(parts));
}

}  // namespace greedyhash
