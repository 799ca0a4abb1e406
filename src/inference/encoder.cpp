#include "greedyhash/inference/encoder.h"

#include <torch/torch.h>

#include <functional>
#include <optional>

#include "greedyhash/data/batch_loader.h"
#include "greedyhash/model/memory_format.h"
#include "greedyhash/report/progress.h"
#include "greedyhash/runtime/autocast.h"

namespace greedyhash {

namespace {

int64_t batches_for(int64_t images, int64_t batch_size) {
  return (images + batch_size - 1) / batch_size;
}

// Where the encoded rows go, and how far the loop has come. The rows gather on the
// model's device and come back to the CPU once at the end (to_cpu): a copy per batch
// would make the host wait for every batch on a GPU.
struct EncodeCursor {
  EncodedImages& out;
  std::optional<Progress>& progress;
  int64_t row = 0;
  int64_t step = 0;
};

// Runs `consume(batch, row)` on each batch of dataset rows `indices`, transformed and on
// the options' device, under its autocast; `row` is the batch's first row in the output.
// The model is in eval mode and gradients are off.
void for_each_batch(const ImageDataset& dataset, const std::vector<int64_t>& indices,
                    const EncodeOptions& options, EncodeCursor& cursor,
                    const std::function<void(const Batch&, int64_t)>& consume) {
  BatchLoaderOptions loader_options;
  loader_options.batch_size = options.batch_size;
  loader_options.device = options.device;
  loader_options.transform = options.transform;
  // One batch (a query, a served batch) has nothing to overlap with: it is built in this
  // thread. A loader thread would also cost more than the batch on Debian's LibTorch, whose
  // at::init_num_threads in a new thread re-creates the pthreadpool: its new worker spins
  // on a core the forward pass needs (greedyhash_serve, 1 image: 41 -> 15 ms).
  if (static_cast<int64_t>(indices.size()) <= options.batch_size) loader_options.prefetch = 0;
  BatchLoader loader(dataset, indices, loader_options);
  loader.start_epoch(0);
  // One scope for the whole loop: the bf16 copies of the weights are cast once, not per batch.
  AutocastScope autocast(options.device, options.precision);
  while (auto batch = loader.next()) {
    consume(*batch, cursor.row);
    cursor.row += batch->images.size(0);
    ++cursor.step;
    if (cursor.progress) cursor.progress->update(cursor.step, cursor.row);
  }
}

// Encodes dataset rows `indices` into the cursor's next rows.
void encode_rows(GreedyHash& model, const ImageDataset& dataset,
                 const std::vector<int64_t>& indices, const EncodeOptions& options,
                 EncodeCursor& cursor) {
  for_each_batch(dataset, indices, options, cursor, [&](const Batch& batch, int64_t row) {
    const auto result = model->forward(batch.images);
    const int64_t b = batch.images.size(0);
    cursor.out.codes.narrow(0, row, b).copy_(result.codes);
    cursor.out.logits.narrow(0, row, b).copy_(result.logits);
    if (cursor.out.labels.defined()) cursor.out.labels.narrow(0, row, b).copy_(batch.labels);
  });
}

// No progress line for an empty label. (Constructed in place: a Progress prints its final
// line when destroyed, so it must not be copied.)
void start_progress(std::optional<Progress>& progress, const EncodeOptions& options,
                    int64_t batches) {
  if (!options.progress_label.empty()) progress.emplace(options.progress_label, batches);
}

EncodedImages empty_encoding(const GreedyHash& model, int64_t n, c10::Device device) {
  EncodedImages out;
  out.codes = torch::empty({n, model->bits()}, torch::TensorOptions(device));
  out.logits = torch::empty({n, model->num_classes()}, torch::TensorOptions(device));
  return out;
}

EncodedImages to_cpu(const EncodedImages& encoded) {
  return {encoded.codes.cpu(), encoded.logits.cpu(),
          encoded.labels.defined() ? encoded.labels.cpu() : encoded.labels};
}

// Eval mode and no gradients while alive; the model's mode is restored afterwards.
class EvalModeGuard {
 public:
  explicit EvalModeGuard(GreedyHash& model) : model_(model), was_training_(model->is_training()) {
    model_->eval();
  }
  ~EvalModeGuard() {
    if (was_training_) model_->train();
  }
  EvalModeGuard(const EvalModeGuard&) = delete;
  EvalModeGuard& operator=(const EvalModeGuard&) = delete;

 private:
  GreedyHash& model_;
  bool was_training_;
  torch::NoGradGuard no_grad_;
};

}  // namespace

EncodeOptions prepare_encoder(GreedyHash& model, c10::Device device, const std::string& precision) {
  model->to(device);
  use_channels_last(*model);
  EncodeOptions options;
  options.device = device;
  options.precision = precision;
  return options;
}

EncodedImages encode_images(GreedyHash& model, const ImageDataset& dataset,
                            const std::vector<int64_t>& indices, const EncodeOptions& options) {
  EvalModeGuard eval_mode(model);
  const auto n = static_cast<int64_t>(indices.size());
  EncodedImages out = empty_encoding(model, n, options.device);
  out.labels = torch::empty({n, dataset.num_classes()},
                            torch::TensorOptions(options.device).dtype(torch::kUInt8));
  std::optional<Progress> progress;
  start_progress(progress, options, batches_for(n, options.batch_size));
  EncodeCursor cursor{out, progress};
  encode_rows(model, dataset, indices, options, cursor);
  return to_cpu(out);
}

EncodedImages encode_image_files(GreedyHash& model, const std::vector<std::filesystem::path>& files,
                                 const ImageLoadOptions& load, const EncodeOptions& options,
                                 int64_t chunk) {
  EvalModeGuard eval_mode(model);
  const auto n = static_cast<int64_t>(files.size());
  EncodedImages out = empty_encoding(model, n, options.device);
  int64_t total_batches = 0;
  for (int64_t first = 0; first < n; first += chunk) {
    total_batches += batches_for(std::min(chunk, n - first), options.batch_size);
  }
  std::optional<Progress> progress;
  start_progress(progress, options, total_batches);
  EncodeCursor cursor{out, progress};
  for (int64_t first = 0; first < n; first += chunk) {
    const int64_t count = std::min(chunk, n - first);
    ImageDataset part;
    part.images = decode_image_files({files.begin() + first, files.begin() + first + count}, load);
    part.labels = torch::zeros({count, 1}, torch::kUInt8);
    std::vector<int64_t> rows(static_cast<size_t>(count));
    for (int64_t i = 0; i < count; ++i) rows[static_cast<size_t>(i)] = i;
    encode_rows(model, part, rows, options, cursor);
  }
  return to_cpu(out);
}

at::Tensor encode_backbone_features(GreedyHash& model, const ImageDataset& dataset,
                                    const std::vector<int64_t>& indices,
                                    const EncodeOptions& options) {
  EvalModeGuard eval_mode(model);
  const auto n = static_cast<int64_t>(indices.size());
  auto features =
      torch::empty({n, model->backbone->feature_dim()}, torch::TensorOptions(options.device));
  EncodedImages unused;
  std::optional<Progress> progress;
  start_progress(progress, options, batches_for(n, options.batch_size));
  EncodeCursor cursor{unused, progress};
  for_each_batch(dataset, indices, options, cursor, [&](const Batch& batch, int64_t row) {
    features.narrow(0, row, batch.images.size(0)).copy_(model->backbone->forward(batch.images));
  });
  return features.cpu();
}

EncodedImages select_rows(const EncodedImages& encoded, const std::vector<int64_t>& rows) {
  const auto index = torch::tensor(rows, torch::kLong);
  return {encoded.codes.index_select(0, index), encoded.logits.index_select(0, index),
          encoded.labels.index_select(0, index)};
}

}  // namespace greedyhash
