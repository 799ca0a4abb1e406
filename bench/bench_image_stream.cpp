// Loader throughput and memory on image files as large collections come (ImageNet-100,
// NUS-WIDE, MS-COCO): one shuffled epoch of training batches, Resize(256) ->
// RandomCrop(224) -> RandomHorizontalFlip -> normalise, from the files of a list file,
// with the images streamed (decoded batch by batch by the loader's workers) or held in
// memory (all decoded first), or streamed from a packed copy (--pack: made first when
// missing, its making timed apart). Nothing is done with the batches: this is the loader alone,
// as bench/reference/torchvision_loader.py times torchvision's DataLoader. Prints JSON.
#include <chrono>
#include <iostream>
#include <thread>

#include <torch/torch.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "greedyhash/data/batch_loader.h"
#include "greedyhash/data/dataset_images.h"
#include "greedyhash/data/list_file.h"
#include "greedyhash/data/packed_images.h"
#include "greedyhash/data/streamed_images.h"
#include "greedyhash/error.h"
#include "greedyhash/runtime/allocator.h"
#include "greedyhash/runtime/stopwatch.h"
#include "json_stdout.h"
#include "process_memory.h"

namespace {

namespace fs = std::filesystem;
using greedyhash::seconds_since;

struct Settings {
  fs::path list;
  fs::path root;
  fs::path pack;
  std::string pipeline = "stream";
  int64_t limit = 0;
  int64_t batch_size = 32;
  int64_t workers = 0;
  int64_t resize = 256;
  int64_t crop = 224;
  int64_t warmup_batches = 3;
};

// Streamed images read from the pack at s.pack, made first (timed) when it is missing.
void use_pack(const Settings& s, greedyhash::ImageDataset& dataset, nlohmann::json& out) {
  auto streamed = std::make_shared<greedyhash::StreamedImages>(*dataset.streamed);
  if (!fs::exists(s.pack)) {
    const auto t0 = std::chrono::steady_clock::now();
    greedyhash::write_packed_images(
        *streamed, s.pack, static_cast<int>(s.workers), [](int64_t done, int64_t total) {
          std::cerr << "\rpacked " << done << "/" << total << std::flush;
        });
    std::cerr << "\n";
    out["pack_seconds"] = seconds_since(t0);
  }
  out["pack_bytes"] = fs::file_size(s.pack);
  streamed->packed = greedyhash::PackedImages::open(s.pack, *streamed);
  dataset.streamed = std::move(streamed);
}

greedyhash::ImageDataset load(const Settings& s,
                              const std::vector<greedyhash::ListEntry>& entries) {
  std::vector<fs::path> files;
  for (const auto& entry : entries) files.push_back(s.root / entry.path);
  greedyhash::ImageDataset dataset;
  greedyhash::ImageLoadOptions options;
  options.resize_size = s.resize;
  options.stream = s.pipeline == "stream";
  greedyhash::attach_images(dataset, std::move(files), options);
  dataset.labels = torch::zeros({static_cast<int64_t>(entries.size()), 1}, torch::kUInt8);
  return dataset;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Times one shuffled epoch of training batches (Resize(256), RandomCrop(224), flip,\n"
      "normalise) from the image files of a list file; prints JSON with images/s and the\n"
      "peak resident memory."};
  Settings s;
  app.add_option("--list", s.list, "list file (`path 0 1 ...` lines)")->required();
  app.add_option("--root", s.root, "folder the list's paths are relative to (default: its own)");
  app.add_option("--pack", s.pack, "streamed from this packed copy (made first when missing)");
  app.add_option("--pipeline", s.pipeline, "stream or memory")
      ->check(CLI::IsMember({"stream", "memory"}));
  app.add_option("--limit", s.limit, "use the first N images of the list (0 = all)");
  app.add_option("--batch-size", s.batch_size, "images per batch");
  app.add_option("--workers", s.workers, "loader workers (0 = one per hardware thread)");
  app.add_option("--resize", s.resize, "shorter side after resizing");
  app.add_option("--crop", s.crop, "random crop side");
  app.add_option("--warmup-batches", s.warmup_batches, "batches before the clock starts");
  CLI11_PARSE(app, argc, argv);
  if (s.root.empty()) s.root = s.list.parent_path();
  JsonStdout json_stdout;
  try {
    torch::set_num_threads(1);  // the workers are the parallelism; the transform is cheap
    auto entries = greedyhash::parse_list_file(s.list);
    if (s.limit > 0 && s.limit < static_cast<int64_t>(entries.size())) entries.resize(s.limit);
    const auto t_load = std::chrono::steady_clock::now();
    nlohmann::json out;
    auto dataset = load(s, entries);
    if (!s.pack.empty()) {
      if (s.pipeline != "stream") throw greedyhash::Error("--pack needs --pipeline stream");
      use_pack(s, dataset, out);
    }
    const double load_seconds = seconds_since(t_load);
    const double rss_after_load = status_mb("VmRSS");

    greedyhash::BatchLoaderOptions options;
    options.batch_size = s.batch_size;
    options.shuffle = true;
    options.seed = 1;
    options.workers = s.workers;
    options.prefetch = 2;
    options.transform = greedyhash::crop_transform(s.crop, true);
    std::vector<int64_t> indices(entries.size());
    for (size_t i = 0; i < indices.size(); ++i) indices[i] = static_cast<int64_t>(i);
    greedyhash::BatchLoader loader(dataset, indices, options);
    loader.start_epoch(0);
    int64_t batches = 0;
    int64_t timed_images = 0;
    double max_rss = status_mb("VmRSS");
    double max_anon = status_mb("RssAnon");
    auto t0 = std::chrono::steady_clock::now();
    const auto t_epoch = t0;
    while (auto batch = loader.next()) {
      if (++batches == s.warmup_batches) t0 = std::chrono::steady_clock::now();
      if (batches > s.warmup_batches) timed_images += batch->images.size(0);
      if (batches % 50 == 0) {
        max_rss = std::max(max_rss, status_mb("VmRSS"));
        max_anon = std::max(max_anon, status_mb("RssAnon"));
        std::cerr << "\r" << batches * s.batch_size << "/" << entries.size() << " images"
                  << std::flush;
      }
    }
    std::cerr << "\n";
    const double seconds = seconds_since(t0);
    out["pipeline"] = s.pack.empty() ? s.pipeline : "stream from pack";
    out["images"] = entries.size();
    out["batch_size"] = s.batch_size;
    out["workers"] = options.workers;
    out["hardware_threads"] = std::thread::hardware_concurrency();
    out["resize"] = s.resize;
    out["crop"] = s.crop;
    out["load_seconds"] = load_seconds;
    out["epoch_seconds"] = seconds_since(t_epoch);
    out["timed_images"] = timed_images;
    out["images_per_s"] = timed_images / seconds;
    out["rss_after_load_mb"] = rss_after_load;
    out["max_sampled_rss_mb"] = max_rss;
    out["max_sampled_rss_anon_mb"] = max_anon;
    out["peak_rss_mb"] = peak_rss_mb();
    out["allocator"] = greedyhash::allocator_description();
    return json_stdout.write(out) ? 0 : 1;
  } catch (const greedyhash::Error& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
