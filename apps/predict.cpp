// greedyhash_predict: classifies one image and optionally retrieves its nearest neighbours.
#include <cstdio>

#include <torch/torch.h>

#include "greedyhash/cli/app_main.h"
#include "greedyhash/cli/config_flags.h"
#include "greedyhash/cli/query_flags.h"
#include "greedyhash/cli/trained_run.h"
#include "greedyhash/data/run_data.h"
#include "greedyhash/inference/collection_index.h"
#include "greedyhash/inference/query_image.h"
#include "greedyhash/inference/saved_codes.h"
#include "greedyhash/inference/trained_model.h"
#include "greedyhash/report/retrieval_results.h"
#include "greedyhash/retrieval/binary_codes.h"
#include "greedyhash/retrieval/hamming.h"
#include "greedyhash/serialize/sha256.h"

namespace {

using namespace greedyhash;
namespace fs = std::filesystem;

// A retrieved database image: its row in split.database and its distance.
struct DatabaseHit {
  int64_t row;
  int distance;
};

// The `topk` nearest database images, from the quickest source that belongs to this very
// checkpoint (compared by content): the run's FAISS index (greedyhash_index), the codes
// `greedyhash_eval --save-codes` wrote, or else the database encoded now.
std::vector<DatabaseHit> nearest_database_images(const RunFiles& files, const TrainedModel& trained,
                                                 const RunData& data, const EncodeOptions& options,
                                                 const BinaryCodes& query, int64_t topk) {
  const std::string fingerprint = file_sha256_hex(trained.checkpoint);
  const int bits = static_cast<int>(trained.meta.bits);
  std::vector<DatabaseHit> hits;
  std::string why;
  if (auto index = usable_run_index(files.dir, bits, fingerprint, data.split.database, why)) {
    std::printf("using the %s index %s\n", index->manifest.index_type.c_str(),
                (files.dir / "database.faiss").c_str());
    const SearchHits found = index->index.search(query, topk);
    for (int64_t j = 0; j < found.k && found.ids[static_cast<size_t>(j)] >= 0; ++j) {
      hits.push_back({found.ids[static_cast<size_t>(j)], found.distances[static_cast<size_t>(j)]});
    }
    return hits;
  }
  if (!why.empty()) std::printf("not using the index: %s\n", why.c_str());

  const auto size = static_cast<int64_t>(data.split.database.size());
  std::optional<BinaryCodes> database = saved_database_codes(files.dir, fingerprint, size, bits);
  if (database) {
    std::printf("using database codes from %s\n", (files.dir / "database_codes.npy").c_str());
  } else {
    std::printf(
        "encoding the database (%lld images); greedyhash_index (or greedyhash_eval "
        "--save-codes) keeps them for next time\n",
        static_cast<long long>(size));
    GreedyHash model = trained.model;
    database = BinaryCodes::from_tensor(
        encode_images(model, data.dataset, data.split.database, options).codes);
  }
  const auto ranking = hamming_ranking(query, 0, *database);
  for (int64_t r = 0; r < std::min<int64_t>(topk, size); ++r) {
    const int64_t row = ranking[static_cast<size_t>(r)];
    hits.push_back({row, hamming_distance(query, 0, *database, row)});
  }
  return hits;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app(
      "Classify one image with a trained GreedyHash model: a test image of the data set\n"
      "(--pic_id, counted from 0 in the order of the data set's README) or any image file\n"
      "(--image). With --topk N, also retrieve the N nearest database images by Hamming\n"
      "distance and draw them as a mosaic (green frame: shares the query's label; red: not).\n"
      "The database comes from the run's FAISS index (greedyhash_index) when it was built\n"
      "with this checkpoint, else from greedyhash_eval --save-codes, else it is encoded.",
      "greedyhash_predict");
  ConfigFlags flags;
  add_config_flags(app, flags, kPredictApp);
  std::string checkpoint;
  QueryFlags query_flags;
  int64_t topk = 0;
  std::string mosaic;
  add_checkpoint_flag(app, checkpoint, "to use");
  add_query_flags(app, query_flags);
  app.add_option("--topk", topk, "also retrieve this many nearest database images")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--mosaic", mosaic,
                 "where to write the retrieval mosaic (default: <run>/retrieval_<query>.png)");

  return run_app("greedyhash_predict", app, argc, argv, [&] {
    require_query(query_flags, "predict");
    const auto [config, device, files, trained, encode] = open_trained_run(flags, checkpoint);
    const RunData data = load_run_data(config, files.dir, SplitMode::Load);
    const QueryImage query =
        query_flags.pic_id >= 0
            ? test_image_query(data, query_flags.pic_id)
            : image_file_query(query_flags.image, outside_image_options(config));

    EncodeOptions options = encode;
    options.transform = data.eval_transform;
    GreedyHash model = trained.model;
    const EncodedImages encoded = encode_query(model, query, options);
    const bool multi_label = data.dataset.multi_label();
    const auto probabilities =
        (multi_label ? torch::sigmoid(encoded.logits) : torch::softmax(encoded.logits, 1))[0];
    const int64_t predicted = probabilities.argmax().item<int64_t>();
    const BinaryCodes query_code = BinaryCodes::from_tensor(encoded.codes);
    std::printf("%s\n", query.name.c_str());
    std::printf("code %s\n", query_code.hex(0).c_str());
    std::printf("Predicted class %lld (%s), probability %.4f", static_cast<long long>(predicted),
                class_name_or_id(data.dataset.class_names, predicted).c_str(),
                probabilities[predicted].item<double>());
    if (query.label.defined()) {
      const int64_t truth = class_ids_of(query.label).item<int64_t>();
      std::printf("; true class %lld (%s)", static_cast<long long>(truth),
                  class_name_or_id(data.dataset.class_names, truth).c_str());
    }
    std::printf("\n");
    if (topk == 0) return 0;

    // Relevance needs the query's labels; for an outside image, the predicted class.
    const at::Tensor query_label =
        query.label.defined() ? query.label
                              : torch::one_hot(torch::tensor(predicted), data.dataset.num_classes())
                                    .to(torch::kUInt8);
    std::vector<RetrievalHit> hits;
    for (const DatabaseHit& found :
         nearest_database_images(files, trained, data, options, query_code, topk)) {
      const int64_t index = data.split.database[static_cast<size_t>(found.row)];
      const bool relevant =
          (data.dataset.labels[index].to(torch::kBool) & query_label.to(torch::kBool))
              .any()
              .item<bool>();
      hits.push_back({found.distance, data.dataset.sources[static_cast<size_t>(index)],
                      data.dataset.image(index), relevant});
    }
    print_retrieval_results(hits);
    const fs::path mosaic_path =
        !mosaic.empty() ? fs::path(mosaic) : files.dir / ("retrieval_" + query.tag + ".png");
    save_retrieval_mosaic(mosaic_path, query.image[0], hits);
    std::printf("wrote %s\n", mosaic_path.c_str());
    return 0;
  });
}
