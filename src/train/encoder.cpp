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

  const auto n = static_cast<int64_t>(indices.size());
  EncodedImages out;
  out.codes = torch::empty({n, model->bits()});
  out.logits = torch::empty({n, model->num_classes()});
  out.labels = torch::empty({n, dataset.num_classes()}, torch::kUInt8);

  Progress progress(options.progress_label, loader.batches_per_epoch());
  int64_t row = 0;
  int64_t step = 0;
  // One scope for the whole loop: the bf16 copies of the weights are cast once, not per batch.
  AutocastScope autocast(options.device, options.precision);
  while (auto batch = loader.next()) {
    const auto result = model->forward(batch->images);
    const int64_t b = batch->images.size(0);
    out.codes.narrow(0, row, b).copy_(result.codes.to(torch::kCPU, torch::kFloat));
    out.logits.narrow(0, row, b).copy_(result.logits.to(torch::kCPU, torch::kFloat));
    out.labels.narrow(0, row, b).copy_(batch->labels.to(torch::kCPU));
    row += b;
    progress.update(++step, row);
  }
  progress.finish();
  if (was_training) model->train();
  return out;
}

EncodedImages select_rows(const EncodedImages& encoded, const std::vector<int64_t>& rows) {
  const auto index = torch::tensor(rows, torch::kLong);
  return {encoded.codes.index_select(0, index), encoded.logits.index_select(0, index),
          encoded.labels.index_select(0, index)};
}

}  // namespace greedyhash
