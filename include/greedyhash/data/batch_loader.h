#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include "greedyhash/data/device_transform.h"
#include "greedyhash/data/image_dataset.h"

namespace greedyhash {

struct Batch {
  at::Tensor images;   // B x 3 x H' x W' float, normalised, on the loader's device
  at::Tensor labels;   // B x C uint8 multi-hot, on the loader's device
  at::Tensor indices;  // B int64, CPU: dataset indices of the rows
};

struct BatchLoaderOptions {
  int64_t batch_size = 32;
  // Shuffled: the order of epoch e is a pure function of (seed, epoch), so a resumed run
  // only needs the epoch number. Not shuffled: the index list's own order (evaluation).
  bool shuffle = false;
  uint64_t seed = 0;
  bool drop_last = false;  // drop the last, partial batch
  c10::Device device = c10::Device(c10::kCPU);
  TransformOptions transform;
  // Batches prepared ahead by a background thread; 0 = none, each batch is built inside
  // next(). One is enough while a step takes longer than building a batch (AlexNet at
  // 224 px: ~1 s against ~10 ms on 2 CPU cores), and each one held costs a batch of
  // float images (19 MB at 32 x 3 x 224 x 224).
  int64_t prefetch = 1;
  // Threads building batches ahead when prefetch > 0; 0 = one for images held in memory
  // (gathering a batch takes milliseconds) and one per hardware thread for streamed images
  // (decoding a batch of JPEGs takes a core ~100 ms). At most max(prefetch, workers)
  // batches are built or waiting at any time: memory does not grow with the data set.
  int64_t workers = 0;
  // Data-parallel sharding: rank r of world_size takes positions r, r + world_size, ...
  // of each epoch's order, after the order is cut to a multiple of world_size (dropping
  // at most world_size - 1 images per epoch, different ones each shuffled epoch). Ranks
  // are disjoint and get the same number of images, hence the same number of batches.
  int64_t rank = 0;
  int64_t world_size = 1;
};

// The dataset indices rank `rank` visits in epoch `epoch`, in order. Shuffled orders:
// positions 0..M-1 of `indices` are permuted by fisher_yates_shuffle with
// std::mt19937_64(derive_seed(seed, epoch)) (seeded_shuffle.h), then sharded as above.
std::vector<int64_t> epoch_order(const std::vector<int64_t>& indices,
                                 const BatchLoaderOptions& options, int64_t epoch);

// Iterates batches of `dataset` rows listed in `indices`:
//
//   BatchLoader loader(dataset, split.train, options);
//   for (int64_t epoch = start; epoch < epochs; ++epoch) {
//     loader.start_epoch(epoch);
//     while (auto batch = loader.next()) { ... }
//   }
//
// Each batch is gathered as uint8 on the CPU, moved to the device and transformed there
// (transform_batch; its random seed is derived from (seed, epoch, rank, batch number)).
// Streamed images (dataset.streamed) are decoded, resized and cut to the transform's crop
// (and flipped) on the CPU by read_streamed_rows with that seed, since images of
// different shapes cannot share a tensor before the crop; the device then only converts,
// normalises (and resizes, for transforms without a crop). Batch b is the same whichever
// worker builds it, and batches are delivered in order.
// The loader keeps references to the dataset's image and label tensors, not a copy.
// Destroying it, or starting another epoch, mid-epoch stops the prefetch thread cleanly.
class BatchLoader {
 public:
  BatchLoader(const ImageDataset& dataset, std::vector<int64_t> indices,
              BatchLoaderOptions options);
  ~BatchLoader();
  BatchLoader(const BatchLoader&) = delete;
  BatchLoader& operator=(const BatchLoader&) = delete;

  // Batches per epoch on this rank (the same on every rank).
  int64_t batches_per_epoch() const;
  // Images per epoch on this rank.
  int64_t samples_per_epoch() const;

  // Begins epoch `epoch` (any number, in any order), abandoning the current one.
  void start_epoch(int64_t epoch);
  // The next batch of the current epoch; std::nullopt once it is exhausted. Errors
  // raised while preparing a batch are rethrown here.
  std::optional<Batch> next();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace greedyhash
