// greedyhash_predict: classifies one image and optionally retrieves its nearest neighbours.
#include <cstdio>

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "greedyhash/cli/app_main.h"
#include "greedyhash/cli/config_flags.h"
#include "greedyhash/data/device_transform.h"
#include "greedyhash/data/image_decoding.h"
#include "greedyhash/error.h"
#include "greedyhash/io/npy.h"
#include "greedyhash/report/mosaic.h"
#include "greedyhash/retrieval/binary_codes.h"
#include "greedyhash/retrieval/hamming.h"
#include "greedyhash/runtime/device.h"
#include "greedyhash/runtime/threads.h"
#include "greedyhash/train/encoder.h"
#include "greedyhash/train/trained_model.h"

namespace {

using namespace greedyhash;
namespace fs = std::filesystem;

std::string class_name(const ImageDataset& dataset, int64_t id) {
  return id >= 0 && id < static_cast<int64_t>(dataset.class_names.size())
             ? dataset.class_names[static_cast<size_t>(id)]
             : std::to_string(id);
}

// Database codes written by `greedyhash_eval --save-codes` for this very checkpoint, if
// any; else the database is encoded now.
BinaryCodes database_codes(const RunFiles& files, const TrainedModel& trained, const RunData& data,
                           const EncodeOptions& options) {
  const fs::path codes_file = files.dir / "database_codes.npy";
  const fs::path eval_file = files.dir / "eval.json";
  if (fs::exists(codes_file) && fs::exists(eval_file)) {
    std::ifstream in(eval_file);
    const auto report = nlohmann::json::parse(in, nullptr, false);
    if (!report.is_discarded() && report.value("checkpoint", "") == trained.checkpoint.string()) {
      BinaryCodes codes = load_codes_pm1_npy(codes_file);
      if (codes.size() == static_cast<int64_t>(data.split.database.size()) &&
          codes.bits() == trained.meta.bits) {
        std::printf("using database codes from %s\n", codes_file.c_str());
        return codes;
      }
    }
  }
  std::printf("encoding the database (%zu images); `greedyhash_eval --save-codes` saves them\n",
              data.split.database.size());
  GreedyHash model = trained.model;
  return BinaryCodes::from_tensor(
      encode_images(model, data.dataset, data.split.database, options).codes);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app(
      "Classify one image with a trained GreedyHash model: a test image of the data set\n"
      "(--pic_id, counted from 0 in the order of the data set's README) or any image file\n"
      "(--image). With --topk N, also retrieve the N nearest database images by Hamming\n"
      "distance and draw them as a mosaic (green frame: shares the query's label; red: not).",
      "greedyhash_predict");
  ConfigFlags flags;
  add_config_flags(app, flags);
  std::string checkpoint;
  int64_t pic_id = -1;
  std::string image_file;
  int64_t topk = 0;
  std::string mosaic;
  app.add_option("--checkpoint", checkpoint, "checkpoint to use (default: the run's best.pt)");
  auto* pic = app.add_option("--pic_id,--pic-id", pic_id, "index of a test image (from 0)");
  auto* image = app.add_option("--image", image_file, "an image file (JPEG, PNG, ...)");
  pic->excludes(image);
  app.add_option("--topk", topk, "also retrieve this many nearest database images")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--mosaic", mosaic,
                 "where to write the retrieval mosaic (default: <run>/retrieval_<query>.png)");

  return run_app("greedyhash_predict", app, argc, argv, [&] {
    if (pic_id < 0 && image_file.empty()) {
      throw Error("nothing to predict: pass --pic_id N (a test image) or --image FILE");
    }
    const Config config = resolve_config(flags, ConfigBase::RunFolder);
    configure_threads(static_cast<int>(config.threads));
    const c10::Device device = select_device(config.device);
    const RunFiles files(run_folder(config));
    const auto trained = load_trained_model(
        checkpoint.empty() ? default_checkpoint(files) : fs::path(checkpoint), config.bit, device);
    const RunData data = load_run_data(config, files.dir, SplitMode::Load);

    at::Tensor query_image;  // 1 x 3 x H x W uint8
    at::Tensor true_label;   // C multi-hot, undefined for an outside image
    std::string query_name;
    TransformOptions transform = data.eval_transform;
    if (pic_id >= 0) {
      const int64_t offset = data.dataset.test_offset >= 0 ? data.dataset.test_offset : 0;
      const int64_t count = data.dataset.test_offset >= 0
                                ? data.dataset.size() - offset
                                : static_cast<int64_t>(data.split.query.size());
      if (pic_id >= count) {
        throw Error("--pic_id " + std::to_string(pic_id) + " is out of range: the test set of " +
                    data.source + " has " + std::to_string(count) + " images (0.." +
                    std::to_string(count - 1) + ")");
      }
      const int64_t index = data.dataset.test_offset >= 0
                                ? offset + pic_id
                                : data.split.query[static_cast<size_t>(pic_id)];
      query_image = data.dataset.images.narrow(0, index, 1);
      true_label = data.dataset.labels[index];
      query_name = "test " + std::to_string(pic_id) + " (" +
                   data.dataset.sources[static_cast<size_t>(index)] + ")";
    } else {
      query_image = decode_image_files({fs::path(image_file)});
      transform = resize_transform(config.input_size);
      query_name = image_file;
    }

    torch::NoGradGuard no_grad;
    const auto input = transform_batch(query_image.to(device), transform);
    GreedyHash model = trained.model;
    const auto out = model->forward(input);
    const bool multi_label = data.dataset.multi_label();
    const auto probabilities =
        (multi_label ? torch::sigmoid(out.logits) : torch::softmax(out.logits, 1))
            .to(torch::kCPU)[0];
    const int64_t predicted = probabilities.argmax().item<int64_t>();
    std::printf("%s\n", query_name.c_str());
    std::printf("Predicted class %lld (%s), probability %.4f", static_cast<long long>(predicted),
                class_name(data.dataset, predicted).c_str(),
                probabilities[predicted].item<double>());
    if (true_label.defined()) {
      const int64_t truth = true_label.argmax().item<int64_t>();
      std::printf("; true class %lld (%s)", static_cast<long long>(truth),
                  class_name(data.dataset, truth).c_str());
    }
    std::printf("\n");

    if (topk > 0) {
      EncodeOptions options;
      options.device = device;
      options.transform = data.eval_transform;
      const BinaryCodes database = database_codes(files, trained, data, options);
      const BinaryCodes query = BinaryCodes::from_tensor(out.codes);
      const auto ranking = hamming_ranking(query, 0, database);
      // Relevance needs the query's labels; for an outside image, the predicted class.
      const at::Tensor query_label =
          true_label.defined()
              ? true_label
              : torch::one_hot(torch::tensor(predicted), data.dataset.num_classes())
                    .to(torch::kUInt8);
      std::vector<MosaicTile> tiles{{query_image[0], "query", TileFrame::Query}};
      const auto n = std::min<int64_t>(topk, database.size());
      for (int64_t r = 0; r < n; ++r) {
        const int64_t row = ranking[static_cast<size_t>(r)];
        const int64_t index = data.split.database[static_cast<size_t>(row)];
        const int distance = hamming_distance(query, 0, database, row);
        const bool relevant =
            (data.dataset.labels[index].to(torch::kBool) & query_label.to(torch::kBool))
                .any()
                .item<bool>();
        std::printf("  %2lld. d=%-3d %-5s %s\n", static_cast<long long>(r + 1), distance,
                    relevant ? "match" : "miss",
                    data.dataset.sources[static_cast<size_t>(index)].c_str());
        tiles.push_back({data.dataset.images[index], "d=" + std::to_string(distance),
                         relevant ? TileFrame::Relevant : TileFrame::Irrelevant});
      }
      const fs::path mosaic_path =
          !mosaic.empty() ? fs::path(mosaic)
          : pic_id >= 0
              ? files.dir / ("retrieval_test_" + std::to_string(pic_id) + ".png")
              : files.dir / ("retrieval_" + fs::path(image_file).stem().string() + ".png");
      save_mosaic(mosaic_path, tiles);
      std::printf("wrote %s\n", mosaic_path.c_str());
    }
    return 0;
  });
}
