// Data pipeline throughput: batches of 224 x 224 normalised images from a uint8 data set
// (CIFAR-sized), plus optionally the time to load real CIFAR-10 JPEGs. Prints JSON.
// Wall time and process CPU time are both reported: the machine may be shared.
#include <sys/resource.h>

#include <chrono>
#include <iostream>

#include <torch/torch.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "greedyhash/data/batch_loader.h"
#include "greedyhash/data/cifar10.h"
#include "greedyhash/data/data_dir.h"
#include "greedyhash/data/dataset_fingerprint.h"
#include "greedyhash/runtime/stopwatch.h"
#include "greedyhash/runtime/threads.h"

namespace {
using greedyhash::seconds_since;

double cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const auto seconds = [](const timeval& t) { return t.tv_sec + t.tv_usec * 1e-6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// Runs `work` and returns {wall seconds, CPU seconds}.
template <typename Work>
std::pair<double, double> timed(Work&& work) {
  const double cpu0 = cpu_seconds();
  const auto t0 = std::chrono::steady_clock::now();
  work();
  const double wall = seconds_since(t0);
  return {wall, cpu_seconds() - cpu0};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"greedyhash data pipeline benchmark (prints JSON)"};
  std::string data_dir;
  std::string cache_dir = "/tmp/greedyhash-data-cache";
  int64_t batches = 300;
  int64_t batch_size = 32;
  int64_t size = 224;
  int64_t prefetch = 1;
  int threads = 0;
  app.add_option("--data-dir", data_dir, "CIFAR-10 folder or .tar.gz: also time the JPEG load");
  app.add_option("--cache-dir", cache_dir, "where archives are unpacked");
  app.add_option("--batches", batches, "batches to time");
  app.add_option("--batch-size", batch_size, "images per batch");
  app.add_option("--size", size, "output side after the bilinear resize");
  app.add_option("--prefetch", prefetch, "prefetch queue depth (0 = none)");
  app.add_option("--threads", threads, "intra-op threads (0 = one per core)");
  CLI11_PARSE(app, argc, argv);

  nlohmann::json out;
  out["threads"] = greedyhash::configure_threads(threads);

  greedyhash::ImageDataset dataset;
  if (!data_dir.empty()) {
    const auto folder = greedyhash::resolve_data_dir(data_dir, cache_dir);
    const auto [wall, cpu] = timed([&] { dataset = greedyhash::load_cifar10(folder); });
    // Sanity check: the image-folder order is (class, file name), so test image 1949 is
    // test/automobile/0949.jpg.
    const int64_t probe = dataset.test_offset + 1949;
    out["load"] = {{"folder", folder.string()},
                   {"images", dataset.size()},
                   {"test_offset", dataset.test_offset},
                   {"test_image_1949", probe >= 0 && probe < dataset.size()
                                           ? dataset.sources[static_cast<size_t>(probe)]
                                           : std::string()},
                   {"seconds", wall},
                   {"cpu_seconds", cpu}};
  } else {
    torch::manual_seed(0);
    dataset.images = torch::randint(0, 256, {60000, 3, 32, 32}, torch::kUInt8);
    dataset.labels = torch::eye(10, torch::kUInt8).repeat({6000, 1});
  }
  {
    greedyhash::DatasetFingerprint fp;
    const auto [wall, cpu] = timed([&] { fp = greedyhash::fingerprint_dataset(dataset); });
    out["fingerprint"] = {{"bytes", dataset.images.nbytes() + dataset.labels.nbytes()},
                          {"checksum", fp.checksum},
                          {"seconds", wall},
                          {"cpu_seconds", cpu}};
  }

  std::vector<int64_t> indices(static_cast<size_t>(dataset.size()));
  for (size_t i = 0; i < indices.size(); ++i) indices[i] = static_cast<int64_t>(i);
  greedyhash::BatchLoaderOptions options;
  options.batch_size = batch_size;
  options.shuffle = true;
  options.seed = 1;
  options.prefetch = prefetch;
  options.transform = greedyhash::resize_transform(size);
  {
    greedyhash::BatchLoader loader(dataset, indices, options);
    loader.start_epoch(0);
    loader.next();  // warm-up: thread start, first allocations
    int64_t images = 0;
    const auto [wall, cpu] = timed([&] {
      for (int64_t b = 0; b < batches; ++b) {
        auto batch = loader.next();
        if (!batch) {
          loader.start_epoch(b);
          batch = loader.next();
        }
        images += batch->images.size(0);
      }
    });
    out["pipeline"] = {{"batch_size", batch_size},
                       {"output_side", size},
                       {"prefetch", prefetch},
                       {"images", images},
                       {"seconds", wall},
                       {"cpu_seconds", cpu},
                       {"images_per_second", images / wall},
                       {"images_per_cpu_second", images / cpu}};
  }
  {
    // For comparison: LibTorch's own bilinear kernel on the same batches.
    const auto x = dataset.images.narrow(0, 0, batch_size).to(torch::kFloat);
    const int64_t reps = std::max<int64_t>(1, batches / 10);
    const auto [wall, cpu] = timed([&] {
      for (int64_t r = 0; r < reps; ++r) at::upsample_bilinear2d(x, {size, size}, false);
    });
    out["upsample_bilinear2d_images_per_second"] = reps * batch_size / wall;
  }
  std::cout << out.dump(2) << std::endl;
  return 0;
}
