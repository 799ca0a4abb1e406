// greedyhash_features: writes a trained run's split as an embedding folder (train.npy,
// query.npy, database.npy and the labels): the backbone's features, or the raw pixels.
#include <cstdio>

#include <ATen/ATen.h>

#include "greedyhash/cli/app_main.h"
#include "greedyhash/cli/config_flags.h"
#include "greedyhash/cli/trained_run.h"
#include "greedyhash/data/run_data.h"
#include "greedyhash/error.h"
#include "greedyhash/io/npy.h"

namespace {

using namespace greedyhash;
namespace fs = std::filesystem;

// Dataset rows `indices` as float features: the stored pixels (C x H x W, / 255) flattened.
at::Tensor pixel_rows(const ImageDataset& dataset, const std::vector<int64_t>& indices) {
  if (dataset.streamed) {
    throw Error(
        "--pixels writes the pixels of images held in memory, all of one size; this "
        "run streams its images (image_pipeline), so use the backbone's features");
  }
  const auto rows = dataset.images.index_select(0, at::tensor(indices, at::kLong));
  return rows.flatten(1).to(at::kFloat).div_(255.0);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app(
      "Write a trained run's split as an embedding folder for greedyhash_train --features and\n"
      "greedyhash_baselines: train.npy (the split's training images), query.npy and\n"
      "database.npy (float32, one row per image, in the split's order) with\n"
      "query_labels.npy and database_labels.npy (uint8 multi-hot). The rows are the\n"
      "backbone's features of the checkpoint (fc7 for AlexNet and VGG-16, after its ReLU; eval\n"
      "mode, the run's evaluation transform), or with --pixels the images' stored pixels\n"
      "(CIFAR-10: 3 x 32 x 32 = 3,072 values in [0, 1]).",
      "greedyhash_features");
  ConfigFlags flags;
  add_config_flags(app, flags, kEvalApp);
  std::string checkpoint;
  std::string output;
  bool pixels = false;
  add_checkpoint_flag(app, checkpoint, "whose backbone computes the features");
  app.add_option("--output,-o", output, "folder to write (made if missing)")->required();
  app.add_flag("--pixels", pixels, "write the raw pixels instead of backbone features");

  return run_app("greedyhash_features", app, argc, argv, [&] {
    auto run = open_trained_run(flags, checkpoint);
    const RunData data = load_run_data(run.config, run.files.dir, SplitMode::Load);
    run.encode.transform = data.eval_transform;
    const fs::path dir(output);
    fs::create_directories(dir);
    const std::vector<std::pair<const char*, const std::vector<int64_t>*>> sets = {
        {"train", &data.split.train},
        {"query", &data.split.query},
        {"database", &data.split.database}};
    // CIFAR-10 (II)'s database is its training set: encoded once.
    std::vector<std::pair<const std::vector<int64_t>*, at::Tensor>> done;
    for (const auto& [name, indices] : sets) {
      run.encode.progress_label = std::string(name) + " features";
      at::Tensor rows;
      for (const auto& [seen, tensor] : done) {
        if (*seen == *indices) rows = tensor;
      }
      if (!rows.defined()) {
        rows = pixels ? pixel_rows(data.dataset, *indices)
                      : encode_backbone_features(run.trained.model, data.dataset, *indices,
                                                 run.encode);
        done.emplace_back(indices, rows);
      }
      save_npy(dir / (std::string(name) + ".npy"), rows);
      if (std::string(name) != "train") {
        save_npy(dir / (std::string(name) + "_labels.npy"),
                 data.dataset.labels.index_select(0, at::tensor(*indices, at::kLong)));
      }
      std::printf("wrote %s: %lld x %lld\n", (dir / (std::string(name) + ".npy")).c_str(),
                  static_cast<long long>(rows.size(0)), static_cast<long long>(rows.size(1)));
    }
    return 0;
  });
}
