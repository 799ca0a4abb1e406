#include "greedyhash/train/encoder.h"

#include <torch/torch.h>

#include "greedyhash/data/batch_loader.h"
#include "greedyhash/report/progress.h"
#include "greedyhash/runtime/autocast.h"

namespace greedyhash {

EncodedImages encode_images(GreedyHash& model, const ImageDataset& dataset,
                            const std::vector<int64_t>& indices, const EncodeOptions& options) {
  torch::NoGradGuard no_grad;
  const bool was_training = model->is_training();
  model->eval();

  BatchLoaderOptions loader_options;
  loader_options.batch_size = options.batch_size;
  loader_options.device = options.device;
  loader_options.transform = options.transform;
  BatchLoader loader(dataset, indices, loader_options);
  loader.start_epoch(0);

  // Results gather on the device and come back to the CPU once at the end: a copy per
  // batch would make the host wait for every batch on a GPU.
  const auto n = static_cast<int64_t>(indices.size());
  const auto on_device = torch::TensorOptions(options.device);
  EncodedImages out;
  out.codes = torch::empty({n, model->bits()}, on_device);
  out.logits = torch::empty({n, model->num_classes()}, on_device);
  out.labels = torch::empty({n, dataset.num_classes()}, on_device.dtype(torch::kUInt8));

  Progress progress(options.progress_label, loader.batches_per_epoch());
  int64_t row = 0;
  int64_t step = 0;
  // One scope for the whole loop: the bf16 copies of the weights are cast once, not per batch.
  AutocastScope autocast(options.device, options.precision);
  while (auto batch = loader.next()) {
    const auto result = model->forward(batch->images);
    const int64_t b = batch->images.size(0);
    out.codes.narrow(0, row, b).copy_(result.codes);
    out.logits.narrow(0, row, b).copy_(result.logits);
    out.labels.narrow(0, row, b).copy_(batch->labels);
    row += b;
    progress.update(++step, row);
  }
  progress.finish();
  if (was_training) model->train();
  return {out.codes.cpu(), out.logits.cpu(), out.labels.cpu()};
}

EncodedImages select_rows(const EncodedImages& encoded, const std::vector<int64_t>& rows) {
  const auto index = torch::tensor(rows, torch::kLong);
  return {encoded.codes.index_select(0, index), encoded.logits.index_select(0, index),
          encoded.labels.index_select(0, index)};
}

}  // namespace greedyhash
