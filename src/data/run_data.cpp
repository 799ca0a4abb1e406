#include "greedyhash/data/run_data.h"

#include <cstdlib>
#include <memory>
#include <random>

#include <spdlog/spdlog.h>

#include "greedyhash/data/cifar10.h"
#include "greedyhash/data/data_dir.h"
#include "greedyhash/data/dataset_fingerprint.h"
#include "greedyhash/data/list_file.h"
#include "greedyhash/data/packed_images.h"
#include "greedyhash/data/seeded_shuffle.h"
#include "greedyhash/data/split_file.h"
#include "greedyhash/error.h"

namespace greedyhash {

namespace fs = std::filesystem;

namespace {

fs::path cache_dir() {
  if (const char* dir = std::getenv("GREEDYHASH_CACHE_DIR"); dir && *dir) return dir;
  if (const char* dir = std::getenv("XDG_CACHE_HOME"); dir && *dir) {
    return fs::path(dir) / "greedyhash";
  }
  if (const char* home = std::getenv("HOME"); home && *home) {
    return fs::path(home) / ".cache" / "greedyhash";
  }
  return fs::temp_directory_path() / "greedyhash-cache";
}

// List-file images are stored at 256/224 of the input size, as the usual resize 256 +
// crop 224 recipe.
int64_t list_stored_size(int64_t input_size) {
  return (input_size * 256 + 223) / 224;
}

// config.image_pipeline with "auto" decided: list-file data sets are streamed.
bool streams(const Config& config) {
  if (config.image_pipeline == "auto") return config.dataset == "list";
  return config.image_pipeline == "stream";
}

ListDataSpec list_spec(const fs::path& root, int64_t input_size, bool stream) {
  ListDataSpec spec;
  spec.root = root;
  spec.train_list = root / "train.txt";
  spec.query_list = root / "test.txt";
  spec.database_list = root / "database.txt";
  spec.load.resize_size = list_stored_size(input_size);
  spec.load.stream = stream;
  return spec;
}

// Deletes what a killed build of `pack` left: its temporary files (.<name>.tmp-XXXXXX),
// as large as the pack itself, which nothing would ever read.
void remove_abandoned_pack_writes(const fs::path& pack) {
  const auto folder = pack.has_parent_path() ? pack.parent_path() : fs::path(".");
  const std::string prefix = "." + pack.filename().string() + ".tmp-";
  std::error_code ignored;
  for (const auto& entry : fs::directory_iterator(folder, ignored)) {
    if (entry.path().filename().string().rfind(prefix, 0) == 0) fs::remove(entry.path(), ignored);
  }
}

// Gives the streamed images of `dataset` the pack at `file`, made first when there is none
// and `may_make` (data-parallel ranks other than 0 may not: they would write it at once).
void use_packed_images(ImageDataset& dataset, const fs::path& file, bool may_make) {
  if (!dataset.streamed) {
    throw Error("--image-cache " + file.string() +
                " packs streamed images, but this run holds its images in memory; pass "
                "--image-pipeline stream, or no --image-cache");
  }
  auto streamed = std::make_shared<StreamedImages>(*dataset.streamed);
  if (!fs::exists(file) && !may_make) {
    throw Error("--image-cache " + file.string() +
                " does not exist; data-parallel workers read a pack but do not make one: make "
                "it first with a one-process run (greedyhash_train --epochs 0 with the same data)");
  }
  if (!fs::exists(file)) {
    spdlog::info("packing {} images into {} (once; later runs read it instead of decoding)",
                 streamed->files.size(), file.string());
    remove_abandoned_pack_writes(file);
    int64_t reported = 0;
    write_packed_images(*streamed, file, 0, [&](int64_t done, int64_t total) {
      if (done == total || done - reported >= std::max<int64_t>(total / 20, 1)) {
        spdlog::info("packed {}/{} images", done, total);
        reported = done;
      }
    });
  }
  streamed->packed = PackedImages::open(file, *streamed);
  dataset.streamed = std::move(streamed);
}

fs::path data_root(const Config& config) {
  if (config.data_dir.empty()) {
    throw Error("no data set given: pass --data-dir (a CIFAR-10 folder or .tar.gz of one)");
  }
  return resolve_data_dir(config.data_dir, cache_dir());
}

}  // namespace

OutsideImageOptions outside_image_options(const Config& config) {
  OutsideImageOptions options;
  if (config.dataset == "list") {
    options.load.resize_size = list_stored_size(config.input_size);
    options.transform = crop_transform(config.input_size, false);
  } else {
    options.load.resize_size = config.input_size;
    options.transform = resize_transform(config.input_size);
  }
  return options;
}

fs::path split_file(const fs::path& run_dir) {
  return run_dir / "split.json";
}

RunData load_run_data(const Config& config, const fs::path& run_dir, SplitMode mode) {
  RunData data;
  const fs::path root = data_root(config);
  data.source = root.string();

  bool has_split = false;
  if (config.dataset == "list") {
    auto list = load_list_dataset(list_spec(root, config.input_size, streams(config)));
    data.dataset = std::move(list.dataset);
    data.split = std::move(list.split);
    has_split = true;
    data.train_transform = crop_transform(config.input_size, true);
    data.eval_transform = crop_transform(config.input_size, false);
  } else {
    ImageLoadOptions load;
    load.stream = streams(config);
    data.dataset = load_cifar10(root, load);
    data.train_transform = resize_transform(config.input_size);
    data.eval_transform = resize_transform(config.input_size);
  }

  if (!config.image_cache.empty()) {
    use_packed_images(data.dataset, config.image_cache, mode != SplitMode::Draw);
  }

  const fs::path file = split_file(run_dir);
  if (mode == SplitMode::Load) {
    if (!fs::exists(file)) {
      throw Error("no split file " + file.string() +
                  "; train first (greedyhash_train) or pass the --output-dir/--bit of a run");
    }
    data.split = load_split_for(file, data.dataset);
    return data;
  }
  if (!has_split) {
    const SplitProtocol protocol = parse_split_protocol(config.dataset);
    PerClassCounts counts = per_class_counts(protocol);
    if (config.query_per_class > 0) counts.query = config.query_per_class;
    if (config.train_per_class > 0) counts.train = config.train_per_class;
    data.split = make_per_class_split(data.dataset.labels, protocol,
                                      static_cast<uint64_t>(config.seed), counts);
  }
  // Only a run that chooses best.pt on validation queries needs them (and small data
  // sets may not have the images to spare).
  if (config.eval_every > 0 && config.select == "validation") {
    data.split.validation = draw_validation(data.split, data.dataset.labels, config.val_per_class,
                                            static_cast<uint64_t>(config.seed));
  }
  if (mode == SplitMode::Create) {
    save_split(file, data.split, fingerprint_dataset(data.dataset), data.source);
  }
  return data;
}

std::vector<int64_t> training_indices(const Split& split, int64_t train_limit, uint64_t seed) {
  std::vector<int64_t> indices = split.train;
  if (train_limit <= 0 || train_limit >= static_cast<int64_t>(indices.size())) return indices;
  std::mt19937_64 rng(seed);
  fisher_yates_shuffle(indices, rng);
  indices.resize(static_cast<size_t>(train_limit));
  return indices;
}

}  // namespace greedyhash
