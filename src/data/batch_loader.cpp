#include "greedyhash/data/batch_loader.h"

#include <algorithm>
#include <condition_variable>
#include <exception>
#include <map>
#include <mutex>
#include <random>
#include <stdexcept>
#include <thread>

#include <ATen/Parallel.h>
#include <c10/core/Event.h>
#include <c10/core/StreamGuard.h>
#include <c10/core/impl/DeviceGuardImplInterface.h>
#include <torch/types.h>

#include "greedyhash/data/seeded_shuffle.h"
#include "greedyhash/data/streamed_images.h"
#include "greedyhash/error.h"

namespace greedyhash {

namespace {

// Keeps the transform's random stream apart from the shuffle's for the same seed.
constexpr uint64_t kTransformStream = 0x7472616e73666f72ULL;

void check_options(const BatchLoaderOptions& options) {
  if (options.batch_size < 1) {
    throw Error("batch size must be >= 1, got " + std::to_string(options.batch_size));
  }
  if (options.world_size < 1 || options.rank < 0 || options.rank >= options.world_size) {
    throw Error("data-parallel rank " + std::to_string(options.rank) + " of world size " +
                std::to_string(options.world_size) +
                " is invalid; expected world size >= 1 and 0 <= rank < world size");
  }
  if (options.prefetch < 0) {
    throw Error("prefetch depth must be >= 0, got " + std::to_string(options.prefetch));
  }
  if (options.workers < 0) {
    throw Error("loader workers must be >= 0, got " + std::to_string(options.workers));
  }
}

// A CPU batch on `device`; for CUDA through pinned memory with a non-blocking copy.
at::Tensor to_device(const at::Tensor& cpu, c10::Device device) {
  if (device.is_cpu()) return cpu;
  return cpu.pin_memory().to(device, /*non_blocking=*/true);
}

// Makes the caller's current stream wait for a batch built on the producer's stream,
// and tells the caching allocator that the caller's stream uses its memory, so that the
// producer cannot be handed that memory again before the caller's kernels are done.
void use_on_current_stream(const Batch& batch, const c10::Event& ready, c10::Device device) {
  const auto* cuda = c10::impl::getDeviceGuardImpl(c10::kCUDA);
  const c10::Stream current = cuda->getStream(device);
  ready.block(current);
  for (const auto* tensor : {&batch.images, &batch.labels}) {
    cuda->recordDataPtrOnStream(tensor->storage().data_ptr(), current);
  }
}

}  // namespace

std::vector<int64_t> epoch_order(const std::vector<int64_t>& indices,
                                 const BatchLoaderOptions& options, int64_t epoch) {
  check_options(options);
  std::vector<int64_t> positions(indices.size());
  for (size_t i = 0; i < positions.size(); ++i) positions[i] = static_cast<int64_t>(i);
  if (options.shuffle) {
    std::mt19937_64 rng(derive_seed(options.seed, static_cast<uint64_t>(epoch)));
    fisher_yates_shuffle(positions, rng);
  }
  const auto world = static_cast<size_t>(options.world_size);
  const size_t kept = positions.size() / world * world;
  std::vector<int64_t> order;
  order.reserve(kept / world);
  for (auto p = static_cast<size_t>(options.rank); p < kept; p += world) {
    order.push_back(indices[static_cast<size_t>(positions[p])]);
  }
  return order;
}

struct BatchLoader::Impl {
  struct Slot {
    std::optional<Batch> batch;
    std::exception_ptr error;
    // CUDA: recorded on the producer's stream once the batch is complete there.
    std::optional<c10::Event> ready;
  };

  at::Tensor images;  // in memory; undefined when streamed
  std::shared_ptr<const StreamedImages> streamed;
  ImageCrop streamed_crop;              // streamed: the part of the transform done on the CPU
  TransformOptions streamed_transform;  // streamed: the rest, done on the device
  at::Tensor labels;
  std::vector<int64_t> indices;
  BatchLoaderOptions options;
  int64_t samples = 0;
  int64_t batches = 0;
  int64_t workers = 1;
  int64_t capacity = 1;  // batches claimed by workers and not yet delivered, at most

  // Current epoch; producers only read these, and they change only while none runs.
  int64_t epoch = -1;
  std::vector<int64_t> order;
  std::exception_ptr failure;

  std::vector<std::thread> producers;
  std::mutex mutex;
  std::condition_variable changed;
  // Guarded by mutex while producers run.
  int64_t delivered = 0;
  int64_t claimed = 0;  // the next batch number a producer will build
  std::map<int64_t, Slot> built;
  bool halted = false;  // a batch failed: build no more
  bool stop = false;

  uint64_t batch_seed(int64_t b) const {
    return derive_seed(
        derive_seed(derive_seed(options.seed ^ kTransformStream, static_cast<uint64_t>(epoch)),
                    static_cast<uint64_t>(options.rank)),
        static_cast<uint64_t>(b));
  }

  Batch build(int64_t b) const {
    const int64_t begin = b * options.batch_size;
    const int64_t end = std::min(samples, begin + options.batch_size);
    auto rows = torch::empty({end - begin}, torch::kLong);
    std::copy(order.begin() + begin, order.begin() + end, rows.data_ptr<int64_t>());
    const uint64_t seed = batch_seed(b);
    Batch batch;
    if (streamed) {
      const std::vector<int64_t> picked(order.begin() + begin, order.begin() + end);
      const auto cpu = read_streamed_rows(*streamed, picked, streamed_crop, seed);
      batch.images = transform_batch(to_device(cpu, options.device), streamed_transform, seed);
    } else {
      batch.images =
          transform_batch(gather_to_device(images, rows, options.device), options.transform, seed);
    }
    batch.labels = gather_to_device(labels, rows, options.device);
    batch.indices = rows;
    return batch;
  }

  // Claims the next batch to build; false when there is none or the loader stops.
  bool claim(int64_t& b) {
    std::unique_lock<std::mutex> lock(mutex);
    changed.wait(lock, [&] {
      return stop || halted || claimed >= batches || claimed - delivered < capacity;
    });
    if (stop || halted || claimed >= batches) return false;
    b = claimed++;
    return true;
  }

  void produce() {
    // Worker threads start with OpenMP's default thread count, not LibTorch's setting.
    at::init_num_threads();
    // CUDA: copies and transforms run on a stream of their own, so that they overlap the
    // consumer's kernels on its stream; next() orders the two through an event.
    const bool cuda = options.device.is_cuda();
    std::optional<c10::StreamGuard> stream;
    if (cuda) {
      stream.emplace(
          c10::impl::getDeviceGuardImpl(c10::kCUDA)->getStreamFromGlobalPool(options.device));
    }
    at::NoGradGuard no_grad;
    for (int64_t b = 0; claim(b);) {
      Slot slot;
      try {
        slot.batch = build(b);
        if (cuda) {
          slot.ready.emplace(c10::kCUDA);
          slot.ready->record(stream->current_stream());
        }
      } catch (...) {
        slot.error = std::current_exception();
      }
      {
        std::lock_guard<std::mutex> lock(mutex);
        if (stop) return;
        if (slot.error) halted = true;
        built.emplace(b, std::move(slot));
      }
      changed.notify_all();
    }
  }

  void stop_producers() {
    {
      std::lock_guard<std::mutex> lock(mutex);
      stop = true;
    }
    changed.notify_all();
    for (auto& producer : producers) producer.join();
    producers.clear();
    built.clear();
    stop = false;
    halted = false;
  }
};

BatchLoader::BatchLoader(const ImageDataset& dataset, std::vector<int64_t> indices,
                         BatchLoaderOptions options)
    : impl_(std::make_unique<Impl>()) {
  check_options(options);
  const bool in_memory = dataset.images.defined() && dataset.images.dim() == 4 &&
                         dataset.images.is_cpu() && dataset.images.scalar_type() == torch::kUInt8;
  if (in_memory == (dataset.streamed != nullptr) || !dataset.labels.defined() ||
      dataset.labels.size(0) != dataset.size()) {
    throw std::invalid_argument(
        "BatchLoader expects uint8 CPU images N x 3 x H x W or streamed images, and N labels");
  }
  const auto& transform = options.transform;
  if (dataset.streamed && transform.resize > 0 && transform.crop > 0) {
    throw Error(
        "streamed images are cropped on the CPU, before the device could resize them; "
        "expected a transform with a resize or a crop, not both");
  }
  const int64_t size = dataset.size();
  for (const auto index : indices) {
    if (index < 0 || index >= size) {
      throw Error("batch loader index " + std::to_string(index) + " is outside the data set of " +
                  std::to_string(size) + " images; the split is larger than the data");
    }
  }
  if (dataset.streamed) {
    impl_->streamed = dataset.streamed;
    impl_->streamed_crop = {transform.crop, transform.random_crop, transform.random_flip};
    impl_->streamed_transform = transform;
    impl_->streamed_transform.crop = 0;
    impl_->streamed_transform.random_crop = false;
    impl_->streamed_transform.random_flip = false;
  } else {
    impl_->images = dataset.images.contiguous();
  }
  impl_->labels = dataset.labels.to(torch::kUInt8).contiguous();
  impl_->options = options;
  impl_->samples = static_cast<int64_t>(indices.size()) / options.world_size;
  impl_->batches = options.drop_last
                       ? impl_->samples / options.batch_size
                       : (impl_->samples + options.batch_size - 1) / options.batch_size;
  impl_->indices = std::move(indices);
  const int64_t hardware = std::max<int64_t>(1, std::thread::hardware_concurrency());
  impl_->workers = options.workers > 0 ? options.workers : dataset.streamed ? hardware : 1;
  impl_->capacity = std::max(options.prefetch, impl_->workers);
}

BatchLoader::~BatchLoader() {
  impl_->stop_producers();
}

int64_t BatchLoader::batches_per_epoch() const {
  return impl_->batches;
}

int64_t BatchLoader::samples_per_epoch() const {
  return std::min(impl_->samples, impl_->batches * impl_->options.batch_size);
}

void BatchLoader::start_epoch(int64_t epoch) {
  auto& impl = *impl_;
  impl.stop_producers();
  impl.epoch = epoch;
  impl.order = epoch_order(impl.indices, impl.options, epoch);
  impl.delivered = 0;
  impl.claimed = 0;
  impl.failure = nullptr;
  if (impl.options.prefetch > 0) {
    const int64_t threads = std::min(impl.workers, impl.batches);
    for (int64_t t = 0; t < threads; ++t) impl.producers.emplace_back([&impl] { impl.produce(); });
  }
}

std::optional<Batch> BatchLoader::next() {
  auto& impl = *impl_;
  if (impl.epoch < 0) throw std::logic_error("BatchLoader::next called before start_epoch");
  if (impl.failure) std::rethrow_exception(impl.failure);
  if (impl.delivered >= impl.batches) return std::nullopt;
  if (impl.options.prefetch == 0) {
    at::NoGradGuard no_grad;
    return impl.build(impl.delivered++);
  }
  Impl::Slot slot;
  {
    std::unique_lock<std::mutex> lock(impl.mutex);
    impl.changed.wait(lock, [&] { return impl.built.count(impl.delivered) > 0; });
    const auto it = impl.built.find(impl.delivered);
    slot = std::move(it->second);
    impl.built.erase(it);
    ++impl.delivered;
  }
  impl.changed.notify_all();
  if (slot.error) {
    impl.failure = slot.error;
    std::rethrow_exception(slot.error);
  }
  if (slot.ready) use_on_current_stream(*slot.batch, *slot.ready, impl.options.device);
  return std::move(slot.batch);
}

}  // namespace greedyhash
